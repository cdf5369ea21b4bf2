# SPDX-License-Identifier: BSD-3-Clause
# Runs the echo example on a free port, reads its URL from stdout, and checks text and binary echoes
# with an independent client (python3-websockets).
import asyncio
import subprocess
import sys

import websockets


async def check(url):
    async with websockets.connect(url) as ws:
        await ws.send("hello, echo")
        assert await ws.recv() == "hello, echo"
        payload = bytes(range(256)) * 4
        await ws.send(payload)
        assert await ws.recv() == payload
        await ws.send("ü" * 10000)
        assert await ws.recv() == "ü" * 10000


def main():
    proc = subprocess.Popen([sys.argv[1], "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://localhost:"), f"unexpected first line: {url!r}"
        asyncio.run(asyncio.wait_for(check(url), 20))
        print("echo ok at", url)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
