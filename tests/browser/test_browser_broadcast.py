# SPDX-License-Identifier: BSD-3-Clause
# Headless Chromium against the broadcast example: the page opens over HTTP, connects with ws:// on
# the same port and shows live values. Python stdlib only; Chromium is driven over
# --remote-debugging-pipe (DevTools protocol, NUL-terminated JSON on fds 3/4).
import argparse
import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

DEADLINE_S = 25  # the whole test, both processes included


class Pipe:
    """A DevTools protocol client on the two pipes of --remote-debugging-pipe."""

    def __init__(self, to_browser, from_browser, deadline):
        self.to_browser, self.from_browser, self.deadline = to_browser, from_browser, deadline
        self.buffer = b""
        self.next_id = 0

    def _read_message(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium before the deadline")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 65536)
                if not chunk:
                    raise EOFError("Chromium closed its DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self.to_browser, json.dumps(request).encode() + b"\0")
        while True:
            message = self._read_message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})


def start_example(example):
    proc = subprocess.Popen([example, "--port", "0", "--host", "127.0.0.1", "--interval", "100"],
                            stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready, "the example printed no URL within 10 s"
    url = proc.stdout.readline().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), f"unexpected first line: {url!r}"
    return proc, url


def start_chromium(chromium, url, profile):
    # fds 3 and 4 in the child: Chromium reads commands from 3 and writes answers to 4. The pipes
    # are moved above fd 10 first so that the dup2() calls in the child cannot clobber each other.
    def high(fd):
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return moved

    cmd_read, cmd_write = map(high, os.pipe())
    ans_read, ans_write = map(high, os.pipe())

    def child_fds():
        os.dup2(cmd_read, 3)  # dup2 clears close-on-exec on the copy
        os.dup2(ans_write, 4)

    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--mute-audio", "--window-size=800,600",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", url]
    # close_fds=False: subprocess would otherwise close 3 and 4 after child_fds(); every other fd
    # of this script is close-on-exec.
    proc = subprocess.Popen(args, close_fds=False, preexec_fn=child_fds,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    os.close(cmd_read)
    os.close(ans_write)
    return proc, cmd_write, ans_read


def stop(proc, group=False):
    if proc.poll() is not None:
        return
    try:
        (os.killpg(proc.pid, signal.SIGTERM) if group else proc.terminate())
        proc.wait(5)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--example", required=True)
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    deadline = time.monotonic() + DEADLINE_S
    profile = tempfile.mkdtemp(prefix="qws-chromium-")
    example, url = start_example(args.example)
    browser = None
    try:
        browser, to_browser, from_browser = start_chromium(args.chromium, url, profile)
        pipe = Pipe(to_browser, from_browser, deadline)
        page = None
        while page is None:
            pages = [t for t in pipe.call("Target.getTargets")["targetInfos"]
                     if t["type"] == "page" and t["url"].startswith(url)]
            page = pages[0] if pages else time.sleep(0.1)
        session = pipe.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        probe = ("JSON.stringify({log: (document.getElementById('log') || {}).textContent || '',"
                 " status: (document.getElementById('status') || {}).textContent || '',"
                 " value: (document.getElementById('value') || {}).textContent || ''})")
        seqs, state = [], {}
        while len(seqs) < 5 and time.monotonic() < deadline - 3:
            result = pipe.call("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session)
            state = json.loads(result["result"]["value"])
            seqs = [int(s) for s in re.findall(r"seq (\d+)", state["log"])]
            time.sleep(0.2)
        assert len(set(seqs)) >= 3, f"fewer than 3 values arrived over ws: {state}"
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"values out of order: {seqs}"
        assert state["status"].startswith("live via ws://127.0.0.1:"), state
        float(state["value"])  # the big number shows a value
        if args.screenshot:
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": 800, "height": 600, "deviceScaleFactor": 1, "mobile": False}, session)
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        try:
            pipe.call("Browser.close")
        except (EOFError, TimeoutError):
            pass
        print(f"browser ok at {url}: the page received seq {seqs} over ws://, showing {state['value']}")
    finally:
        if browser:
            stop(browser, group=True)
        stop(example)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
