# SPDX-License-Identifier: BSD-3-Clause
# Runs the broadcast example on a free loopback port and checks, with independent clients, that the
# one port serves the page over HTTP (GET / → 200 text/html, other paths → 404) and hands WebSocket
# upgrades to the QML element: two python3-websockets clients both receive increasing live values.
import asyncio
import http.client
import json
import subprocess
import sys
import urllib.parse

import websockets


def http_get(host, port, path):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


async def receive(url, count):
    seqs = []
    async with websockets.connect(url) as ws:
        while len(seqs) < count:
            message = json.loads(await ws.recv())
            assert {"seq", "value", "time"} <= message.keys(), message
            assert -100.0 <= message["value"] <= 100.0, message
            seqs.append(message["seq"])
    return seqs


async def check(ws_url):
    a, b = await asyncio.gather(receive(ws_url, 5), receive(ws_url, 5))
    for seqs in (a, b):
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    return a, b


def main():
    proc = subprocess.Popen([sys.argv[1], "--port", "0", "--host", "127.0.0.1", "--interval", "50"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme == "http" and parts.port, f"unexpected first line: {url!r}"
        status, content_type, body = http_get(parts.hostname, parts.port, "/")
        assert status == 200 and content_type.startswith("text/html"), (status, content_type)
        assert b'new WebSocket("ws://" + location.host + "/live")' in body
        status, _, _ = http_get(parts.hostname, parts.port, "/missing")
        assert status == 404, status
        ws_url = f"ws://{parts.hostname}:{parts.port}/live"
        a, b = asyncio.run(asyncio.wait_for(check(ws_url), 20))
        print("broadcast ok at", url, "client A got", a, "client B got", b)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
