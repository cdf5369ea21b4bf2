#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runs the conformance catalogue (cases.py) against a WebSocket echo server over real loopback sockets.

    run.py [options] SERVER_BINARY [SERVER_ARGS...]   start the server (with --port 0), read its URL, run
    run.py [options] --url ws://127.0.0.1:PORT         run against a server that is already listening

The client is written here from raw sockets: the HTTP upgrade, frame parsing, masking and permessage-deflate
(zlib) are our own, so the verdict depends neither on the server's code nor on any WebSocket library.
Prints per-group pass counts, every failure with its reason, and finally `N passed, M failed`; exits 1 if
anything failed (including a KNOWN_FAILURES case that unexpectedly passed, or the server dying).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import os
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as C  # noqa: E402

CASE_TIMEOUT = 2.0          # seconds per case, handshake to TCP close
HEAVY_TIMEOUT = 10.0        # `heavy` cases: 64 MiB must cross while the echo servers have no limit flags
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Failed(Exception):
    """The server's behaviour differs from the case's expectation (or breaks the RFC on its own)."""


class Conn:
    """One client connection with a hard deadline, parsing what the server sends."""

    def __init__(self, host: str, port: int, deadline: float) -> None:
        self.deadline = deadline
        self.sock = socket.create_connection((host, port), timeout=max(0.05, deadline - time.monotonic()))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.deflate = None          # negotiated parameters, dict, or None
        self.compressor = None
        self.decompressor = None
        self.partial = None          # (opcode, [payloads], compressed) of a server message in progress

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- raw I/O ----
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def send(self, data: bytes, chunk=None, ignore_errors=False) -> None:
        try:
            if not chunk:
                self.sock.settimeout(max(0.05, self.left()))
                self.sock.sendall(data)
                return
            for i in range(0, len(data), chunk):
                self.sock.settimeout(max(0.05, self.left()))
                self.sock.sendall(data[i:i + chunk])
                time.sleep(0.001)
        except socket.timeout:
            raise Failed("timed out while sending (the server stopped reading)")
        except (BrokenPipeError, ConnectionResetError) as e:
            if not ignore_errors:
                raise Failed(f"connection lost while sending: {e}")

    def fill(self, timeout=None) -> bool:
        """Reads more bytes; False on EOF. Raises Failed at the deadline (or after `timeout`: TimeoutError)."""
        if self.eof:
            return False
        wait = self.left() if timeout is None else min(timeout, self.left())
        if wait <= 0:
            if timeout is not None:
                raise TimeoutError
            raise Failed("timed out waiting for the server")
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            if timeout is not None and self.left() > 0:
                raise TimeoutError
            raise Failed("timed out waiting for the server")
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def take(self, n: int, timeout=None):
        while len(self.buf) < n:
            if not self.fill(timeout):
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    # ---- the opening handshake ----
    def read_http(self):
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                raise Failed(f"connection closed before a complete HTTP response (got {bytes(self.buf)[:200]!r})")
            if len(self.buf) > 65536:
                raise Failed("HTTP response header over 64 KiB")
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3})( .*)?$", lines[0])
        if not m:
            raise Failed(f"bad status line {lines[0]!r}")
        headers: dict = {}
        for line in lines[1:]:
            if ":" not in line:
                raise Failed(f"bad response header line {line!r}")
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        return int(m.group(1)), headers

    # ---- frames from the server (RFC 6455 §5: a server's frames are never masked) ----
    def read_frame(self, timeout=None):
        h = self.take(2, timeout)
        if h is None:
            if self.buf:
                raise Failed(f"TCP closed inside a frame header ({bytes(self.buf)!r})")
            return None
        fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 0xF
        if h[1] & 0x80:
            raise Failed("RFC 6455 §5.1: the server sent a masked frame")
        n = h[1] & 0x7F
        if n == 126:
            ext = self.take(2)
            if ext is None:
                raise Failed("TCP closed inside a frame header")
            n = struct.unpack("!H", ext)[0]
            if n < 126:
                raise Failed("RFC 6455 §5.2: the server used a non-minimal 16-bit length")
        elif n == 127:
            ext = self.take(8)
            if ext is None:
                raise Failed("TCP closed inside a frame header")
            n = struct.unpack("!Q", ext)[0]
            if n < 65536 or n >> 63:
                raise Failed("RFC 6455 §5.2: the server used a non-minimal or invalid 64-bit length")
        payload = self.take(n) if n else b""
        if payload is None:
            raise Failed("TCP closed inside a frame payload")
        if op not in (C.CONT, C.TEXT, C.BINARY, C.CLOSE, C.PING, C.PONG):
            raise Failed(f"RFC 6455 §5.2: the server sent reserved opcode {op:#x}")
        if rsv & (C.RSV2 | C.RSV3):
            raise Failed(f"RFC 6455 §5.2: the server set RSV2/RSV3 ({rsv:#x})")
        if rsv & C.RSV1 and (self.deflate is None or op not in (C.TEXT, C.BINARY)):
            raise Failed("RFC 7692 §6.1: the server set RSV1 " + ("without permessage-deflate" if self.deflate is None
                                                                   else f"on opcode {op:#x}"))
        if op >= 8 and (not fin or n > 125):
            raise Failed("RFC 6455 §5.5: the server sent a fragmented or oversized control frame")
        return fin, rsv, op, payload

    def next_event(self, timeout=None):
        """('msg', opcode, payload, compressed) | ('ping'|'pong', payload) | ('close', code, reason) | ('eof',)."""
        while True:
            f = self.read_frame(timeout)
            if f is None:
                if self.partial:
                    raise Failed("TCP closed inside a fragmented message from the server")
                return ("eof",)
            fin, rsv, op, payload = f
            if op == C.PING:
                return ("ping", payload)
            if op == C.PONG:
                return ("pong", payload)
            if op == C.CLOSE:
                if len(payload) == 1:
                    raise Failed("RFC 6455 §5.5.1: the server sent a 1-byte close payload")
                if not payload:
                    return ("close", None, b"")
                code = struct.unpack("!H", payload[:2])[0]
                if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
                    raise Failed(f"RFC 6455 §7.4: the server sent close code {code}, not valid on the wire")
                try:
                    payload[2:].decode("utf-8")
                except UnicodeDecodeError:
                    raise Failed("RFC 6455 §5.5.1: the server's close reason is not UTF-8")
                return ("close", code, payload[2:])
            if op == C.CONT:
                if self.partial is None:
                    raise Failed("RFC 6455 §5.4: the server sent a continuation with no message in progress")
                if rsv:
                    raise Failed("RFC 7692 §6.1: the server set RSV1 on a continuation")
                self.partial[1].append(payload)
            else:
                if self.partial is not None:
                    raise Failed("RFC 6455 §5.4: the server started a message inside another")
                self.partial = (op, [payload], bool(rsv & C.RSV1))
            if fin:
                op0, parts, compressed = self.partial
                self.partial = None
                data = b"".join(parts)
                if compressed:
                    data = self.inflate(data)
                if op0 == C.TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise Failed("RFC 6455 §8.1: the server sent a text message that is not UTF-8")
                return ("msg", op0, data, compressed)

    # ---- permessage-deflate, client side (RFC 7692 §7.2) ----
    def setup_deflate(self, params: dict, offered: dict) -> None:
        self.deflate = {
            "snct": "server_no_context_takeover" in params,
            "cnct": "client_no_context_takeover" in params or "client_no_context_takeover" in offered,
            "smwb": int(params.get("server_max_window_bits") or 15),
            "cmwb": int(params.get("client_max_window_bits") or 15),
        }

    def inflate(self, data: bytes) -> bytes:
        d = self.deflate
        if self.decompressor is None or d["snct"] or self.decompressor.eof:
            # snct: every message starts afresh, so a server that kept its context fails right here.
            self.decompressor = zlib.decompressobj(-d["smwb"])
        try:
            # Small output steps: zlib checks a back-reference against its window plus the output of the
            # current call, so only short calls catch a server that reaches beyond the negotiated window.
            dec = self.decompressor
            pending = data + C.TAIL
            out = []
            while True:
                piece = dec.decompress(pending, 32)
                out.append(piece)
                pending = dec.unconsumed_tail
                if dec.eof or (not pending and not piece):
                    break
            out = b"".join(out)
        except zlib.error as e:
            raise Failed(f"RFC 7692: cannot inflate the server's message with window {d['smwb']}"
                         f"{' and no context takeover' if d['snct'] else ''}: {e}")
        return out

    def compress(self, data: bytes, final: bool) -> bytes:
        d = self.deflate
        if self.compressor is None or d["cnct"] or final:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, -max(9, d["cmwb"]))
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
        if final:
            self.compressor = None      # a BFINAL block ends the stream: the next message starts afresh
            return out
        return C.strip_tail(out)


# ---- running one case ----------------------------------------------------------------------------------------
def default_request(case: C.Case, host: str, key: str) -> bytes:
    lines = ["GET /conformance HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    exts = case.extensions if isinstance(case.extensions, list) else [case.extensions] if case.extensions else []
    lines += [f"Sec-WebSocket-Extensions: {e}" for e in exts]
    lines += [f"Sec-WebSocket-Protocol: {p}" for p in (case.protocols or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def handshake(conn: Conn, case: C.Case, host: str, port: int) -> bool:
    """Sends the request, checks the answer; True when the connection is open (101)."""
    key = base64.b64encode(os.urandom(16)).decode()
    hostport = f"{host}:{port}"
    if case.request is None:
        request = default_request(case, hostport, key)
    else:
        request = case.request.replace(b"{host}", hostport.encode()).replace(b"{key}", key.encode())
    m = re.search(rb"(?im)^sec-websocket-key:[ \t]*([^\r\n]*?)[ \t]*\r?$", request)
    sent_key = m.group(1) if m else b""
    conn.send(request, chunk=case.chunk_request)
    want = case.handshake or C.Http(101)
    status, headers = conn.read_http()
    if status != want.status:
        raise Failed(f"handshake: expected HTTP {want.status}, got {status} {headers}")
    for name, value in want.headers.items():
        got = headers.get(name, [])
        if got != [value]:
            raise Failed(f"handshake: expected header {name}: {value}, got {got}")
    for name in want.absent:
        if name in headers:
            raise Failed(f"handshake: header {name} must be absent, got {headers[name]}")
    if want.check:
        err = want.check(headers)
        if err:
            raise Failed(f"handshake: {err}")
    if status != 101:
        # RFC 7230 §6.6 / Connection: close: the body, then the server closes TCP.
        length = int(headers.get("content-length", ["0"])[0])
        if conn.take(length) is None:
            raise Failed("handshake: TCP closed before the error body")
        expect_eof(conn, "after the HTTP error response")
        return False
    # RFC 6455 §4.2.2 item 5 / §4.1 items 1-4 of the client's checks.
    accept = base64.b64encode(hashlib.sha1(sent_key + GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != [accept]:
        raise Failed(f"RFC 6455 §4.2.2: Sec-WebSocket-Accept {headers.get('sec-websocket-accept')} != {accept}")
    if [v.lower() for v in headers.get("upgrade", [])] != ["websocket"]:
        raise Failed(f"RFC 6455 §4.2.2: Upgrade header {headers.get('upgrade')}")
    if not any("upgrade" in [t.strip().lower() for t in v.split(",")] for v in headers.get("connection", [])):
        raise Failed(f"RFC 6455 §4.2.2: Connection header {headers.get('connection')}")
    offered = re.findall(rb"(?im)^sec-websocket-extensions:[ \t]*([^\r\n]*)", request)
    offered_text = ", ".join(o.decode("latin-1") for o in offered)
    exts = C.parse_extensions(headers.get("sec-websocket-extensions", []))
    for name, params in exts:
        if name not in [n for n, _ in C.parse_extensions([offered_text])]:
            raise Failed(f"RFC 6455 §9.1: the server accepted extension {name} that was not offered")
    if exts:
        if len(exts) != 1 or exts[0][0] != "permessage-deflate":
            raise Failed(f"unexpected extensions {exts}")
        offer_for = {}
        for n, p in C.parse_extensions([offered_text]):
            if n == "permessage-deflate":
                offer_for = p
                break
        conn.setup_deflate(exts[0][1], offer_for)
    protos = headers.get("sec-websocket-protocol", [])
    if protos:
        offered_p = [t.strip() for v in (case.protocols or []) for t in v.split(",")]
        if len(protos) != 1 or protos[0] not in offered_p:
            raise Failed(f"RFC 6455 §4.2.2 item 5.4: subprotocol {protos} not one of the offer {offered_p}")
    return True


def expect_eof(conn: Conn, what: str) -> None:
    try:
        while conn.fill():
            pass
    except Failed:
        raise Failed(f"TCP not closed by the server {what} (within the case timeout)")
    if conn.buf:
        raise Failed(f"unexpected bytes {what}: {bytes(conn.buf)[:60]!r}")


def describe(ev) -> str:
    if ev[0] == "msg":
        op, data = ev[1], ev[2]
        shown = data[:40]
        return f"{'text' if op == C.TEXT else 'binary'} message of {len(data)} bytes {shown!r}{'…' if len(data) > 40 else ''}"
    if ev[0] == "close":
        return f"close {ev[1]} {ev[2][:60]!r}"
    if ev[0] in ("ping", "pong"):
        return f"{ev[0]} {ev[1][:40]!r}"
    return "TCP closed"


def run_steps(conn: Conn, case: C.Case) -> None:
    steps = list(case.steps)
    if not steps or not isinstance(steps[-1], (C.Close, C.Eof)):
        steps += [C.Send(C.close_frame(1000)), C.Close(1000)]    # clean closing handshake (§7.1.2)
    for step in steps:
        if isinstance(step, C.Send):
            data = step.data() if callable(step.data) else step.data
            conn.send(data, step.chunk, step.ignore_errors)
        elif isinstance(step, C.SendMsg):
            send_message(conn, step)
        elif isinstance(step, C.Quiet):
            try:
                ev = conn.next_event(timeout=step.seconds)
            except TimeoutError:
                continue
            raise Failed(f"expected nothing for {step.seconds}s, got {describe(ev)}")
        elif isinstance(step, C.Shutdown):
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                raise Failed(f"shutdown failed: {e}")
        elif isinstance(step, C.AnyOrder):
            remaining = list(step.steps)
            while remaining:
                ev = conn.next_event()
                hit = next((s for s in remaining if matches(s, ev)), None)
                if hit is None:
                    raise Failed(f"expected one of {[describe(expected_event(s)) for s in remaining]}, got {describe(ev)}")
                remaining.remove(hit)
        elif isinstance(step, C.Pongs):
            remaining = list(step.payloads)
            while remaining:
                ev = conn.next_event()
                if ev[0] != "pong" or ev[1] not in remaining:
                    raise Failed(f"expected pongs for {len(step.payloads)} pings, got {describe(ev)}")
                remaining = remaining[remaining.index(ev[1]) + 1:]
        else:
            ev = conn.next_event()
            if isinstance(step, C.Msg):
                if ev[0] != "msg" or ev[1] != step.opcode or ev[2] != step.payload:
                    want = describe(("msg", step.opcode, step.payload))
                    raise Failed(f"expected {want}, got {describe(ev)}")
                if step.compressed is not None and ev[3] != step.compressed:
                    raise Failed(f"expected the echo {'with' if step.compressed else 'without'} RSV1 compression")
            elif isinstance(step, C.Pong):
                if ev != ("pong", step.payload):
                    raise Failed(f"expected pong {step.payload[:40]!r}, got {describe(ev)}")
            elif isinstance(step, C.Close):
                maybe = list(step.maybe)
                while maybe and ev[0] != "close" and matches(maybe[0], ev):
                    maybe.pop(0)
                    ev = conn.next_event()
                if ev[0] != "close" or ev[1] != step.code:
                    raise Failed(f"expected close {step.code if step.code is not None else '(no code)'}, got {describe(ev)}")
                expect_eof(conn, "after its close frame")
            elif isinstance(step, C.Eof):
                if ev != ("eof",):
                    raise Failed(f"expected TCP close, got {describe(ev)}")
            else:
                raise Failed(f"unknown step {step!r}")


def expected_event(step):
    if isinstance(step, C.Msg):
        return ("msg", step.opcode, step.payload, step.compressed)
    if isinstance(step, C.Pong):
        return ("pong", step.payload)
    raise Failed(f"step {step!r} cannot be matched as an event")


def matches(step, ev) -> bool:
    want = expected_event(step)
    if want[0] == "msg":
        return ev[0] == "msg" and ev[1:3] == want[1:3] and (want[3] is None or ev[3] == want[3])
    return ev == want


def send_message(conn: Conn, m: C.SendMsg) -> None:
    rsv = 0
    data = m.payload
    if m.compress and conn.deflate is not None:
        data = conn.compress(m.payload, m.final_block)
        rsv = C.RSV1
    if m.parts <= 1:
        conn.send(C.frame(m.opcode, data, rsv=rsv))
        return
    pieces = C.chop(data, max(1, -(-len(data) // m.parts)))
    out = b"".join(C.frame(m.opcode if i == 0 else C.CONT, p, fin=i == len(pieces) - 1, rsv=rsv if i == 0 else 0)
                   for i, p in enumerate(pieces))
    conn.send(out)


def run_case(case: C.Case, host: str, port: int):
    for step in case.steps:          # big payloads are built before the clock starts
        if isinstance(step, C.Send) and callable(step.data):
            step.data = step.data()
    start = time.monotonic()
    deadline = start + (max(CASE_TIMEOUT, HEAVY_TIMEOUT) if case.heavy else CASE_TIMEOUT)
    conn = None
    try:
        conn = Conn(host, port, deadline)
        if handshake(conn, case, host, port):
            run_steps(conn, case)
        return None, time.monotonic() - start
    except Failed as e:
        return str(e), time.monotonic() - start
    except OSError as e:
        return f"socket error: {e}", time.monotonic() - start
    finally:
        if conn:
            conn.close()


# ---- the server under test ----------------------------------------------------------------------------------------
def start_server(argv: list):
    """Starts the server with --port 0 and returns (process, host, port, stderr file)."""
    err = tempfile.TemporaryFile()
    args = list(argv)
    if "--port" not in args:
        args += ["--port", "0"]
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env)
    line = b""
    end = time.monotonic() + 20
    listen_seen = None
    while time.monotonic() < end and b"\n" not in line:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
        elif proc.poll() is not None:
            break
        elif listening_port(proc.pid):
            # Listening but silent: give it a few seconds to print, then go on with the port from /proc.
            listen_seen = listen_seen or time.monotonic()
            if time.monotonic() - listen_seen > 5:
                break
    url = line.split(b"\n")[0].decode(errors="replace").strip()
    if not url.startswith("ws") and proc.poll() is None:
        port = listening_port(proc.pid)
        if port:
            print(f"WARNING: the server printed no URL on stdout (got {line!r}); it listens on port {port} "
                  "(found in /proc), running against that", flush=True)
            url = f"ws://127.0.0.1:{port}"
    if not url.startswith("ws"):
        proc.kill()
        err.seek(0)
        sys.exit(f"run.py: the server did not print its URL (got {line!r}); stderr:\n{err.read().decode(errors='replace')}")
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()   # keep its stdout drained
    host, port = parse_url(url)
    return proc, host, port, err


def listening_port(pid: int):
    """The TCP port a process listens on (Linux /proc), for servers that do not print their URL."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for row in f.readlines()[1:]:
                    cols = row.split()
                    if cols[3] == "0A" and cols[9] in inodes:    # TCP_LISTEN
                        return int(cols[1].rsplit(":", 1)[1], 16)
    except OSError:
        return None
    return None


def parse_url(url: str):
    u = urllib.parse.urlsplit(url)
    host = u.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::", "localhost"):
        host = "127.0.0.1"
    return host, u.port


def limits_for(argv: list) -> tuple[list, dict]:
    """Small limits when the server binary has flags for them, else the engine's defaults."""
    limits = {"message": C.ENGINE_DEFAULT_LIMIT, "frame": C.ENGINE_DEFAULT_LIMIT}
    try:
        out = subprocess.run([argv[0], "--help"], capture_output=True, timeout=10,
                             env=dict(os.environ, QT_QPA_PLATFORM="offscreen")).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return [], limits
    extra = []
    if "--max-message-size" in out and "--max-message-size" not in argv:
        extra += ["--max-message-size", str(1 << 20)]
        limits["message"] = 1 << 20
    if "--max-frame-size" in out and "--max-frame-size" not in argv:
        extra += ["--max-frame-size", str(256 << 10)]
        limits["frame"] = 256 << 10
    return extra, limits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="run against this already listening server (ws://host:port)")
    ap.add_argument("--group", help="only these groups (comma-separated)")
    ap.add_argument("--case", help="only cases whose id contains this text")
    ap.add_argument("--jobs", type=int, default=8, help="cases run concurrently (default 8)")
    ap.add_argument("--max-message-size", type=int, help="the server's message limit (with --url)")
    ap.add_argument("--max-frame-size", type=int, help="the server's frame limit (with --url)")
    ap.add_argument("--timeout", type=float, default=CASE_TIMEOUT, help="seconds per case (default 2)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    ap.add_argument("server", nargs=argparse.REMAINDER, help="server binary and its arguments")
    a = ap.parse_args()

    proc = err = None
    limits = {"message": a.max_message_size or C.ENGINE_DEFAULT_LIMIT, "frame": a.max_frame_size or C.ENGINE_DEFAULT_LIMIT}
    if not a.list:
        if a.url:
            host, port = parse_url(a.url)
        elif a.server:
            extra, limits = limits_for(a.server)
            proc, host, port, err = start_server(a.server + extra)
        else:
            ap.error("give a server binary or --url")
    globals()["CASE_TIMEOUT"] = a.timeout
    catalogue = C.build(limits)
    stale = set(C.KNOWN_FAILURES) - {f"{c.group}.{c.slug}" for c in catalogue}
    if stale:
        sys.exit(f"run.py: KNOWN_FAILURES names no case: {sorted(stale)}")
    selected = catalogue
    if a.group:
        groups = set(a.group.split(","))
        unknown = groups - {c.group for c in catalogue}
        if unknown:
            ap.error(f"unknown group(s) {sorted(unknown)}")
        selected = [c for c in selected if c.group in groups]
    if a.case:
        selected = [c for c in selected if a.case in c.id]
    if a.list:
        for c in selected:
            print(f"{c.id}\t{c.title}")
        return 0

    print(f"conformance: {len(selected)} cases against ws://{host}:{port}"
          f" (limits: message {limits['message']}, frame {limits['frame']})", flush=True)
    started = time.monotonic()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        futures = {pool.submit(run_case, c, host, port): c for c in selected if not c.heavy}
        for f in concurrent.futures.as_completed(futures):
            results[futures[f].id] = f.result()
    for c in selected:
        if c.heavy:                 # big transfers: alone, so that they measure the server, not the other cases
            results[c.id] = run_case(c, host, port)

    passed = failed = xfailed = 0
    per_group: dict = {}
    lines = []
    for c in selected:
        error, took = results[c.id]
        g = per_group.setdefault(c.group, [0, 0, 0])
        bug = C.KNOWN_FAILURES.get(f"{c.group}.{c.slug}")
        if error is None and bug is None:
            passed += 1
            g[0] += 1
            if a.verbose:
                lines.append(f"PASS  {c.id} ({took:.2f}s)")
        elif error is not None and bug is not None:
            xfailed += 1
            g[2] += 1
            lines.append(f"XFAIL {c.id}: expected failure ({bug}): {error}")
        else:
            failed += 1
            g[1] += 1
            reason = error if error is not None else f"unexpectedly passed: remove it from KNOWN_FAILURES ({bug})"
            lines.append(f"FAIL  {c.id}: {c.title}\n        {reason}")
    for line in lines:
        print(line)
    print()
    for group in dict.fromkeys(c.group for c in selected):
        p, f, x = per_group[group]
        print(f"  {group:<15} {p:>4}/{p + f + x} passed" + (f", {f} failed" if f else "") +
              (f", {x} expected failures" if x else ""))
    if proc is not None:
        if proc.poll() is not None:
            failed += 1
            err.seek(0)
            print(f"FAIL  the server exited during the run (status {proc.returncode}); stderr:\n"
                  f"{err.read().decode(errors='replace')[-3000:]}")
        else:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"{len(selected)} cases in {time.monotonic() - started:.1f}s; {xfailed} expected failures (known bugs)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
