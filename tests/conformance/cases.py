# SPDX-License-Identifier: BSD-3-Clause
"""The conformance catalogue: server-side RFC 6455 / RFC 7692 cases, grouped like the usual suites.

Every case is data: an id ("<group>.<n>.<slug>"), a group, a title that names the RFC section, the
bytes to send (built below with a tiny masked-frame builder) and the expectation, step by step:

    Send(bytes)       write these bytes (optionally in chunks of `chunk` bytes)
    SendMsg(...)      write a message the client compresses at run time (permessage-deflate state)
    Msg(op, bytes)    the next thing from the server is this whole message (fragments joined, inflated)
    Pong(bytes)       the next thing is a pong with this payload
    Pongs([...])      pongs answering these pings, in order, ending with the last (RFC 6455 §5.5.3)
    Close(code)       a close frame with exactly this code (None: empty payload), then TCP closed
    Http(status)      the handshake answer has this status (101: validated; others: then TCP closed)
    Quiet(s)          nothing arrives for s seconds
    AnyOrder([...])   these Msg/Pong steps in any order
    Shutdown()        send our TCP FIN

Strictness: where the RFC allows two behaviours, the case expects the stricter one (fail fast, the
precise close code, then the server closes TCP without waiting for our close frame). A case whose steps do
not end with Close/Eof gets a clean closing handshake appended by the runner (close 1000 → echoed 1000,
then TCP closed), which also proves the connection survived the case.

Standard library only: the client side must not share code with the server nor with any WebSocket library.
"""

from __future__ import annotations

import functools
import random
import struct
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

# ---- opcodes (RFC 6455 §5.2, §11.8) ---------------------------------------------------------------------
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 4, 2, 1   # values of the `rsv` argument (bits 6, 5, 4 of the first byte)

ENGINE_DEFAULT_LIMIT = 64 * 1024 * 1024   # plugin/server: maxMessageSize / maxFrameSize default

# Known engine bugs: "<group>.<slug>" (the case id without its number) → the bug. The runner reports these
# as "expected failure (bug …)" and FAILS the run if one of them passes (so the list cannot rot).
# Keep it as short as possible.
KNOWN_FAILURES: dict[str, str] = {
}

_rng = random.Random(6455)   # deterministic masking keys and payloads: runs are reproducible


# ---- the masked-frame builder -----------------------------------------------------------------------------
def mask_bytes(payload: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3: octet i of the payload XOR octet i % 4 of the key (big-int XOR: fast for MiBs)."""
    if not payload or key == b"\0\0\0\0":
        return payload
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, masked: bool = True,
          key: Optional[bytes] = None, length: Optional[int] = None, form: Optional[int] = None) -> bytes:
    """One client frame (RFC 6455 §5.2). `length` overrides the declared length (payload may then be
    shorter: only a prefix is sent); `form` forces the 7/16/64-bit length encoding (7, 16 or 64)."""
    declared = len(payload) if length is None else length
    if form is None:
        form = 7 if declared <= 125 else 16 if declared <= 0xFFFF else 64
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if masked else 0
    if form == 7:
        head = bytes([b0, mbit | declared])
    elif form == 16:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", declared)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", declared)
    if not masked:
        return head + payload
    if key is None:
        key = bytes(_rng.getrandbits(8) for _ in range(4))
    return head + key + mask_bytes(payload, key)


def close_payload(code: Optional[int], reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


def close_frame(code: Optional[int] = 1000, reason: bytes = b"", **kw) -> bytes:
    return frame(CLOSE, close_payload(code, reason), **kw)


def fragments(opcode: int, parts: list[bytes], rsv_first: int = 0) -> bytes:
    """A message as len(parts) frames: opcode on the first, continuations after, FIN on the last."""
    out = b""
    for i, part in enumerate(parts):
        out += frame(opcode if i == 0 else CONT, part, fin=i == len(parts) - 1, rsv=rsv_first if i == 0 else 0)
    return out


def chop(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


_ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_"
_TO_TEXT = bytes(_ALPHABET[i % len(_ALPHABET)] for i in range(256))


def text_payload(n: int, seed: int = 0) -> bytes:
    """n bytes of printable ASCII (valid UTF-8, compressible like text), reproducible from the seed."""
    return random.Random(seed).randbytes(n).translate(_TO_TEXT)


def binary_payload(n: int, seed: int = 0) -> bytes:
    r = random.Random(seed)
    return r.randbytes(n)


# ---- steps ---------------------------------------------------------------------------------------------------
@dataclass
class Send:
    data: object                     # bytes, or a function returning them (big payloads, built when run)
    chunk: Optional[int] = None      # write in pieces of this size (a short pause between them)
    ignore_errors: bool = False      # the server may close while we are still writing (limits)


@dataclass
class SendMsg:
    """A data message the client builds at run time with its negotiated permessage-deflate state."""
    opcode: int
    payload: bytes
    compress: bool = True
    parts: int = 1                   # frames: RSV1 only on the first (RFC 7692 §6.1)
    final_block: bool = False        # end the DEFLATE data with a BFINAL block (Z_FINISH)


@dataclass
class Msg:
    opcode: int
    payload: bytes
    compressed: Optional[bool] = None   # None: either; else whether the server set RSV1


@dataclass
class Pong:
    payload: bytes


@dataclass
class Pongs:
    payloads: list


@dataclass
class Close:
    code: Optional[int]
    maybe: list = field(default_factory=list)   # steps that MAY be met before the close (RFC allows either)


@dataclass
class AnyOrder:
    """These Msg/Pong steps, in any order (an application echo and an engine pong are not ordered)."""
    steps: list


@dataclass
class Shutdown:
    """Half-close: send our TCP FIN (shutdown SHUT_WR)."""


@dataclass
class Eof:
    pass


@dataclass
class Quiet:
    seconds: float = 0.3


@dataclass
class Http:
    status: int
    headers: dict = field(default_factory=dict)      # name (lower) → exact value (case-insensitive)
    absent: tuple = ()                               # header names (lower) that must not be there
    check: Optional[Callable[[dict], Optional[str]]] = None   # headers → error text or None


@dataclass
class Case:
    id: str                             # "<group>.<n>.<slug>"
    group: str
    title: str
    steps: list
    request: Optional[bytes] = None     # raw handshake ({host}, {key} substituted); None: a valid one
    extensions: Optional[str] = None    # Sec-WebSocket-Extensions offered by the default request
    protocols: Optional[list] = None    # Sec-WebSocket-Protocol headers of the default request
    handshake: Optional[Http] = None    # the expected answer of the default request (default 101)
    chunk_request: Optional[int] = None
    slug: str = ""
    heavy: bool = False                 # run alone, after the others, with a 10 s budget (64 MiB transfers)


# ---- the catalogue ---------------------------------------------------------------------------------------------
class Catalogue:
    def __init__(self) -> None:
        self.cases: list[Case] = []
        self.counters: dict[str, int] = {}

    def add(self, group: str, slug: str, title: str, steps: list, **kw) -> None:
        n = self.counters.get(group, 0) + 1
        self.counters[group] = n
        self.cases.append(Case(f"{group}.{n}.{slug}", group, title, steps, slug=slug, **kw))


def echo(opcode: int, payload: bytes, **kw) -> list:
    return [Send(frame(opcode, payload, **kw)), Msg(opcode, payload)]


def build(limits: Optional[dict] = None) -> list[Case]:
    """All cases. `limits`: {'message': bytes, 'frame': bytes} the server under test enforces."""
    limits = limits or {"message": ENGINE_DEFAULT_LIMIT, "frame": ENGINE_DEFAULT_LIMIT}
    c = Catalogue()
    _framing(c)
    _pingpong(c)
    _reserved(c)
    _opcodes(c)
    _fragmentation(c)
    _utf8(c)
    _close(c)
    _handshake(c)
    _subprotocols(c)
    _limits(c, limits)
    _deflate(c, limits)
    return c.cases


# ---- 1. framing and lengths (RFC 6455 §5.2) --------------------------------------------------------------------
def _framing(c: Catalogue) -> None:
    g = "framing"
    for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 20):
        c.add(g, f"text-{n}", f"RFC 6455 §5.2/§5.6: text message of {n} bytes is echoed", echo(TEXT, text_payload(n, n)))
    for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 20):
        c.add(g, f"binary-{n}", f"RFC 6455 §5.2/§5.6: binary message of {n} bytes is echoed",
              echo(BINARY, binary_payload(n, n)))
    p = text_payload(300, 1)
    c.add(g, "bytewise-small", "RFC 6455 §5.2: a 10-byte text frame arriving one byte per write is echoed",
          [Send(frame(TEXT, p[:10]), chunk=1), Msg(TEXT, p[:10])])
    c.add(g, "bytewise-16bit", "RFC 6455 §5.2: a 300-byte frame (16-bit length) in 1-byte writes is echoed",
          [Send(frame(TEXT, p), chunk=1), Msg(TEXT, p)])
    big = binary_payload(70000, 2)
    c.add(g, "chunked-64bit", "RFC 6455 §5.2: a 70000-byte frame (64-bit length) in 997-byte writes is echoed",
          [Send(frame(BINARY, big), chunk=997), Msg(BINARY, big)])
    c.add(g, "header-split", "RFC 6455 §5.2: header split inside the extended length and the mask key",
          _split_header_case(big))
    msgs = [text_payload(i * 7 + 1, i) for i in range(8)]
    c.add(g, "batch-8", "RFC 6455 §5.6: eight text frames in one write are echoed in order",
          [Send(b"".join(frame(TEXT, m) for m in msgs))] + [Msg(TEXT, m) for m in msgs])
    mix = [(TEXT, b"one"), (BINARY, b"\x00\x01\x02"), (TEXT, b""), (BINARY, b""), (TEXT, b"last")]
    c.add(g, "interleaved", "RFC 6455 §5.6: text and binary messages interleaved keep their types and order",
          [Send(b"".join(frame(o, m) for o, m in mix))] + [Msg(o, m) for o, m in mix])
    c.add(g, "zero-mask-key", "RFC 6455 §5.3: an all-zero masking key is still a masked frame",
          echo(TEXT, b"zero key", key=b"\0\0\0\0"))
    c.add(g, "unmasked-text", "RFC 6455 §5.1: an unmasked client frame fails the connection with 1002",
          [Send(frame(TEXT, b"hello", masked=False)), Close(1002)])
    c.add(g, "unmasked-empty", "RFC 6455 §5.1: an unmasked empty binary frame → 1002",
          [Send(frame(BINARY, b"", masked=False)), Close(1002)])
    c.add(g, "unmasked-ping", "RFC 6455 §5.1: an unmasked ping → 1002 (no pong)",
          [Send(frame(PING, b"p", masked=False)), Close(1002)])
    c.add(g, "unmasked-after-echo", "RFC 6455 §5.1: echo, then an unmasked frame → 1002",
          echo(TEXT, b"fine") + [Send(frame(TEXT, b"bad", masked=False)), Close(1002)])
    c.add(g, "nonminimal-16-for-5", "RFC 6455 §5.2: length 5 in the 16-bit form (not minimal) → 1002",
          [Send(frame(TEXT, b"hello", form=16)), Close(1002)])
    c.add(g, "nonminimal-64-for-5", "RFC 6455 §5.2: length 5 in the 64-bit form (not minimal) → 1002",
          [Send(frame(TEXT, b"hello", form=64)), Close(1002)])
    c.add(g, "nonminimal-64-for-200", "RFC 6455 §5.2: length 200 in the 64-bit form (not minimal) → 1002",
          [Send(frame(BINARY, binary_payload(200), form=64)), Close(1002)])
    c.add(g, "nonminimal-16-for-125", "RFC 6455 §5.2: length 125 in the 16-bit form (not minimal) → 1002",
          [Send(frame(BINARY, binary_payload(125), form=16)), Close(1002)])
    c.add(g, "nonminimal-16-for-0", "RFC 6455 §5.2: an empty frame with a 16-bit length (not minimal) → 1002",
          [Send(frame(TEXT, b"", form=16)), Close(1002)])
    c.add(g, "nonminimal-64-for-65535", "RFC 6455 §5.2: length 65535 in the 64-bit form (not minimal) → 1002",
          [Send(frame(BINARY, b"", length=65535, form=64)), Close(1002)])
    c.add(g, "length-msb", "RFC 6455 §5.2: a 64-bit length with its most significant bit set → 1002",
          [Send(frame(BINARY, b"", length=(1 << 63) + 5, form=64)), Close(1002)])
    c.add(g, "length-all-ones", "RFC 6455 §5.2: 64-bit length 0xFFFFFFFFFFFFFFFF (MSB set) → 1002",
          [Send(frame(BINARY, b"", length=(1 << 64) - 1, form=64)), Close(1002)])


def _split_header_case(big: bytes) -> list:
    f = frame(BINARY, big)
    return [Send(f[:1]), Send(f[1:3]), Send(f[3:7]), Send(f[7:12]), Send(f[12:]), Msg(BINARY, big)]


# ---- 2. ping / pong (RFC 6455 §5.5.2, §5.5.3) -----------------------------------------------------------------
def _pingpong(c: Catalogue) -> None:
    g = "pingpong"
    for n in (0, 1, 10, 124, 125):
        p = binary_payload(n, 100 + n)
        c.add(g, f"ping-{n}", f"RFC 6455 §5.5.2: a ping with {n} payload bytes gets a pong with the same payload",
              [Send(frame(PING, p)), Pong(p)])
    c.add(g, "ping-text-payload", "RFC 6455 §5.5.2: ping application data (UTF-8 text) echoed in the pong",
          [Send(frame(PING, "ping κόσμε".encode())), Pong("ping κόσμε".encode())])
    c.add(g, "ping-bytewise", "RFC 6455 §5.5.2: a ping arriving one byte per write gets its pong",
          [Send(frame(PING, b"slow ping"), chunk=1), Pong(b"slow ping")])
    c.add(g, "ping-126", "RFC 6455 §5.5: a ping with 126 payload bytes (16-bit length) → 1002",
          [Send(frame(PING, binary_payload(126))), Close(1002)])
    c.add(g, "ping-65536", "RFC 6455 §5.5: a ping with a 64-bit length → 1002 without reading the payload",
          [Send(frame(PING, b"", length=65536)), Close(1002)])
    c.add(g, "ping-nonminimal", "RFC 6455 §5.2/§5.5: a 10-byte ping with a 16-bit length → 1002",
          [Send(frame(PING, b"0123456789", form=16)), Close(1002)])
    c.add(g, "ping-fragmented", "RFC 6455 §5.5: a ping without FIN (fragmented control frame) → 1002",
          [Send(frame(PING, b"part", fin=False)), Close(1002)])
    c.add(g, "ping-fragmented-cont", "RFC 6455 §5.5: a ping without FIN followed by a continuation → 1002",
          [Send(frame(PING, b"a", fin=False) + frame(CONT, b"b")), Close(1002)])
    c.add(g, "pong-unsolicited", "RFC 6455 §5.5.3: an unsolicited pong gets no answer",
          [Send(frame(PONG, b"")), Quiet(0.2)] + echo(TEXT, b"after pong"))
    c.add(g, "pong-unsolicited-125", "RFC 6455 §5.5.3: an unsolicited 125-byte pong gets no answer",
          [Send(frame(PONG, binary_payload(125))), Quiet(0.2)] + echo(TEXT, b"after pong"))
    c.add(g, "pong-126", "RFC 6455 §5.5: a pong with 126 payload bytes → 1002",
          [Send(frame(PONG, binary_payload(126))), Close(1002)])
    c.add(g, "pong-fragmented", "RFC 6455 §5.5: a pong without FIN → 1002",
          [Send(frame(PONG, b"x", fin=False)), Close(1002)])
    pings = [f"ping {i}".encode() for i in range(10)]
    c.add(g, "ten-pings", "RFC 6455 §5.5.3: ten pings in one write: pongs in order, the last one answered",
          [Send(b"".join(frame(PING, p) for p in pings)), Pongs(pings)])
    c.add(g, "ping-between-messages", "RFC 6455 §5.5.2: ping between two messages: both echoes (in order) and the pong",
          [Send(frame(TEXT, b"one") + frame(PING, b"mid") + frame(TEXT, b"two")),
           AnyOrder([Msg(TEXT, b"one"), Pong(b"mid")]), Msg(TEXT, b"two")])
    c.add(g, "ping-then-close", "RFC 6455 §5.5.2/§5.5.1: ping then close: pong, then close 1000",
          [Send(frame(PING, b"bye") + close_frame(1000)), Pong(b"bye"), Close(1000)])
    c.add(g, "ping-after-close", "RFC 6455 §5.5.1: a ping after our close frame is not answered",
          [Send(close_frame(1000) + frame(PING, b"late")), Close(1000)])
    c.add(g, "ping-unmasked-payload-big", "RFC 6455 §5.5.2: ping with all 125 byte values 0x00..0x7C",
          [Send(frame(PING, bytes(range(125)))), Pong(bytes(range(125)))])


# ---- 3. reserved bits (RFC 6455 §5.2) ----------------------------------------------------------------------------
def _reserved(c: Catalogue) -> None:
    g = "reserved"
    names = {RSV1: "rsv1", RSV2: "rsv2", RSV3: "rsv3", RSV1 | RSV2: "rsv12", RSV1 | RSV3: "rsv13",
             RSV2 | RSV3: "rsv23", 7: "rsv123"}
    for rsv, name in names.items():
        c.add(g, f"text-{name}", f"RFC 6455 §5.2: {name.upper()} set on a text frame, no extension → 1002",
              [Send(frame(TEXT, b"Hello", rsv=rsv)), Close(1002)])
    for rsv, name in ((RSV1, "rsv1"), (RSV2, "rsv2"), (RSV3, "rsv3")):
        c.add(g, f"binary-{name}", f"RFC 6455 §5.2: {name.upper()} on a binary frame → 1002",
              [Send(frame(BINARY, b"\x00\xff", rsv=rsv)), Close(1002)])
        c.add(g, f"ping-{name}", f"RFC 6455 §5.2: {name.upper()} on a ping → 1002 (no pong)",
              [Send(frame(PING, b"p", rsv=rsv)), Close(1002)])
        c.add(g, f"pong-{name}", f"RFC 6455 §5.2: {name.upper()} on a pong → 1002",
              [Send(frame(PONG, b"p", rsv=rsv)), Close(1002)])
        c.add(g, f"close-{name}", f"RFC 6455 §5.2: {name.upper()} on a close frame → 1002",
              [Send(close_frame(1000, rsv=rsv)), Close(1002)])
        c.add(g, f"cont-{name}", f"RFC 6455 §5.2: {name.upper()} on a continuation frame → 1002",
              [Send(frame(TEXT, b"frag", fin=False) + frame(CONT, b"ment", rsv=rsv)), Close(1002)])
    c.add(g, "after-echo", "RFC 6455 §5.2: a valid message is echoed, then RSV2 on the next → 1002",
          echo(TEXT, b"first") + [Send(frame(TEXT, b"second", rsv=RSV2)), Close(1002)])
    c.add(g, "bad-then-ping", "RFC 6455 §5.2/§7.1.7: bad RSV3 frame then a ping in one write: 1002, and no pong",
          [Send(frame(TEXT, b"bad", rsv=RSV3) + frame(PING, b"no")), Close(1002)])
    c.add(g, "rsv1-empty", "RFC 6455 §5.2: RSV1 on an empty text frame, no extension negotiated → 1002",
          [Send(frame(TEXT, b"", rsv=RSV1)), Close(1002)])


# ---- 4. opcodes (RFC 6455 §5.2, §11.8) ---------------------------------------------------------------------------
def _opcodes(c: Catalogue) -> None:
    g = "opcodes"
    for op in (3, 4, 5, 6, 7):
        c.add(g, f"data-{op:x}", f"RFC 6455 §5.2: reserved non-control opcode 0x{op:X} → 1002",
              [Send(frame(op, b"")), Close(1002)])
        c.add(g, f"data-{op:x}-payload", f"RFC 6455 §5.2: reserved opcode 0x{op:X} with payload after an echo → 1002",
              echo(TEXT, b"before") + [Send(frame(op, b"reserved payload")), Close(1002)])
    for op in (0xB, 0xC, 0xD, 0xE, 0xF):
        c.add(g, f"control-{op:x}", f"RFC 6455 §5.2: reserved control opcode 0x{op:X} → 1002",
              [Send(frame(op, b"")), Close(1002)])
        c.add(g, f"control-{op:x}-payload", f"RFC 6455 §5.2: reserved control opcode 0x{op:X} with payload, after an echo → 1002",
              echo(BINARY, b"\x01") + [Send(frame(op, b"reserved")), Close(1002)])
    for op in (3, 0xB):
        c.add(g, f"in-fragmented-{op:x}", f"RFC 6455 §5.2/§5.4: reserved opcode 0x{op:X} between fragments → 1002",
              [Send(frame(TEXT, b"a", fin=False) + frame(op, b"")), Close(1002)])
    c.add(g, "reserved-then-ping", "RFC 6455 §5.2: reserved opcode 0x5 then a ping in one write: 1002, no pong",
          [Send(frame(5, b"") + frame(PING, b"no")), Close(1002)])


# ---- 5. fragmentation (RFC 6455 §5.4) -----------------------------------------------------------------------------
def _fragmentation(c: Catalogue) -> None:
    g = "fragmentation"
    t = b"fragmented text message"
    c.add(g, "text-2", "RFC 6455 §5.4: text in 2 fragments is echoed whole",
          [Send(fragments(TEXT, [t[:10], t[10:]])), Msg(TEXT, t)])
    c.add(g, "text-3", "RFC 6455 §5.4: text in 3 fragments is echoed whole",
          [Send(fragments(TEXT, [t[:5], t[5:12], t[12:]])), Msg(TEXT, t)])
    c.add(g, "text-bytewise", "RFC 6455 §5.4: text in one-byte fragments is echoed whole",
          [Send(fragments(TEXT, chop(t, 1))), Msg(TEXT, t)])
    b = binary_payload(1000, 5)
    c.add(g, "binary-2", "RFC 6455 §5.4: binary in 2 fragments is echoed whole",
          [Send(fragments(BINARY, [b[:1], b[1:]])), Msg(BINARY, b)])
    c.add(g, "binary-100", "RFC 6455 §5.4: binary in 100 fragments is echoed whole",
          [Send(fragments(BINARY, chop(b, 10))), Msg(BINARY, b)])
    c.add(g, "empty-fragments", "RFC 6455 §5.4: empty first, middle and last fragments are allowed",
          [Send(fragments(TEXT, [b"", b"abc", b"", b"def", b""])), Msg(TEXT, b"abcdef")])
    c.add(g, "all-empty", "RFC 6455 §5.4: a message of three empty fragments is an empty message",
          [Send(fragments(BINARY, [b"", b"", b""])), Msg(BINARY, b"")])
    c.add(g, "separate-writes", "RFC 6455 §5.4: fragments sent in separate writes (message assembled)",
          [Send(frame(TEXT, b"one ", fin=False)), Send(frame(CONT, b"two ", fin=False)),
           Send(frame(CONT, b"three")), Msg(TEXT, b"one two three")])
    c.add(g, "ping-inside", "RFC 6455 §5.4/§5.5: a ping between fragments is answered first",
          [Send(frame(TEXT, b"frag", fin=False) + frame(PING, b"inside") + frame(CONT, b"ment")),
           Pong(b"inside"), Msg(TEXT, b"fragment")])
    c.add(g, "ping-inside-separate", "RFC 6455 §5.4: fragment, ping (pong comes back mid-message), last fragment",
          [Send(frame(TEXT, b"frag", fin=False) + frame(PING, b"mid")), Pong(b"mid"),
           Send(frame(CONT, b"ment")), Msg(TEXT, b"fragment")])
    c.add(g, "pong-inside", "RFC 6455 §5.4: an unsolicited pong between fragments is ignored",
          [Send(frame(BINARY, b"ab", fin=False) + frame(PONG, b"x") + frame(CONT, b"cd")), Msg(BINARY, b"abcd")])
    c.add(g, "many-pings-inside", "RFC 6455 §5.4: pings between each of 5 fragments",
          [Send(b"".join(frame(TEXT if i == 0 else CONT, b"%d" % i, fin=i == 4) + (frame(PING, b"p%d" % i) if i < 4 else b"")
                         for i in range(5))), Pongs([b"p0", b"p1", b"p2", b"p3"]), Msg(TEXT, b"01234")])
    c.add(g, "close-inside", "RFC 6455 §5.4/§5.5.1: a close between fragments is answered (1000) and TCP closed",
          [Send(frame(TEXT, b"frag", fin=False) + close_frame(1000)), Close(1000)])
    c.add(g, "cont-first", "RFC 6455 §5.4: a continuation with no message in progress → 1002",
          [Send(frame(CONT, b"orphan")), Close(1002)])
    c.add(g, "cont-first-nofin", "RFC 6455 §5.4: a non-final continuation with no message in progress → 1002",
          [Send(frame(CONT, b"orphan", fin=False)), Close(1002)])
    c.add(g, "cont-after-message", "RFC 6455 §5.4: echo, then a continuation after the finished message → 1002",
          echo(TEXT, b"done") + [Send(frame(CONT, b"late")), Close(1002)])
    c.add(g, "cont-empty-first", "RFC 6455 §5.4: an empty FIN continuation with nothing to continue → 1002",
          [Send(frame(CONT, b"")), Close(1002)])
    c.add(g, "text-inside-text", "RFC 6455 §5.4: a new text frame while a message is in progress → 1002",
          [Send(frame(TEXT, b"a", fin=False) + frame(TEXT, b"b")), Close(1002)])
    c.add(g, "binary-inside-text", "RFC 6455 §5.4: a binary frame while a text message is in progress → 1002",
          [Send(frame(TEXT, b"a", fin=False) + frame(BINARY, b"b")), Close(1002)])
    c.add(g, "text-inside-binary-nofin", "RFC 6455 §5.4: a non-final text frame inside a binary message → 1002",
          [Send(frame(BINARY, b"a", fin=False) + frame(TEXT, b"b", fin=False)), Close(1002)])
    c.add(g, "close-fragmented", "RFC 6455 §5.5: a close frame without FIN → 1002",
          [Send(frame(CLOSE, close_payload(1000), fin=False)), Close(1002)])
    c.add(g, "two-messages", "RFC 6455 §5.4: two fragmented messages back to back keep their boundaries",
          [Send(fragments(TEXT, [b"ab", b"cd"]) + fragments(BINARY, [b"\x01", b"\x02"])),
           Msg(TEXT, b"abcd"), Msg(BINARY, b"\x01\x02")])
    big = binary_payload(200000, 9)
    c.add(g, "large-fragments", "RFC 6455 §5.4: 200000 bytes in 4 fragments of 50000 (16/64-bit lengths)",
          [Send(fragments(BINARY, chop(big, 50000))), Msg(BINARY, big)])
    many = text_payload(3000, 11)
    c.add(g, "3000-fragments", "RFC 6455 §5.4: a text message in 3000 one-byte fragments is echoed whole",
          [Send(fragments(TEXT, chop(many, 1))), Msg(TEXT, many)])
    c.add(g, "fragment-bytewise-writes", "RFC 6455 §5.4: 3 fragments written one byte at a time",
          [Send(fragments(TEXT, [b"slow", b" and ", b"steady"]), chunk=1), Msg(TEXT, b"slow and steady")])


# ---- 6. UTF-8 (RFC 6455 §8.1, RFC 3629) -------------------------------------------------------------------------
KOSME = "κόσμε".encode()

VALID_UTF8 = [
    ("empty", b""),
    ("hello-mixed", b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"),
    ("kosme", KOSME),
    ("u0000", b"\x00"),
    ("u0080-first-2byte", b"\xc2\x80"),
    ("u0800-first-3byte", b"\xe0\xa0\x80"),
    ("u10000-first-4byte", b"\xf0\x90\x80\x80"),
    ("u007f-last-1byte", b"\x7f"),
    ("u07ff-last-2byte", b"\xdf\xbf"),
    ("uffff-last-3byte", b"\xef\xbf\xbf"),
    ("u10ffff-last-4byte", b"\xf4\x8f\xbf\xbf"),
    ("ud7ff", b"\xed\x9f\xbf"),
    ("ue000", b"\xee\x80\x80"),
    ("ufffd", b"\xef\xbf\xbd"),
    ("ufffe-nonchar", b"\xef\xbf\xbe"),
    ("ufdd0-nonchar", b"\xef\xb7\x90"),
    ("u1ffff-nonchar", b"\xf0\x9f\xbf\xbf"),
    ("bom", b"\xef\xbb\xbf"),
    ("emoji", "😀👍🏽".encode()),
    ("cjk", "日本語のテキスト".encode()),
    ("all-widths", "a\u00e9\u20ac\U0001F600z".encode()),
    ("all-ascii", bytes(range(128))),
    ("bmp-sample", "".join(chr(cp) for cp in range(0x80, 0xD800, 97)).encode()),
    ("astral-sample", "".join(chr(cp) for cp in range(0x10000, 0x110000, 4099)).encode()),
]

# (slug, bytes, detectable before the message ends). Prefixed by valid text in the cases.
INVALID_UTF8 = [
    ("lone-cont-80", b"\x80", True),
    ("lone-cont-bf", b"\xbf", True),
    ("two-conts", b"\x80\xbf", True),
    ("overlong-c0", b"\xc0\x80", True),
    ("overlong-c1", b"\xc1\xbf", True),
    ("overlong-3byte-slash", b"\xe0\x80\xaf", True),
    ("overlong-4byte-slash", b"\xf0\x80\x80\xaf", True),
    ("overlong-3byte-max", b"\xe0\x9f\xbf", True),
    ("overlong-4byte-max", b"\xf0\x8f\xbf\xbf", True),
    ("surrogate-d800", b"\xed\xa0\x80", True),
    ("surrogate-dbff", b"\xed\xaf\xbf", True),
    ("surrogate-dc00", b"\xed\xb0\x80", True),
    ("surrogate-dfff", b"\xed\xbf\xbf", True),
    ("surrogate-pair", b"\xed\xa0\x80\xed\xb0\x80", True),
    ("above-10ffff", b"\xf4\x90\x80\x80", True),
    ("lead-f5", b"\xf5\x80\x80\x80", True),
    ("lead-f7", b"\xf7\xbf\xbf\xbf", True),
    ("5-byte", b"\xf8\x88\x80\x80\x80", True),
    ("6-byte", b"\xfc\x84\x80\x80\x80\x80", True),
    ("fe", b"\xfe", True),
    ("ff", b"\xff", True),
    ("fe-fe-ff-ff", b"\xfe\xfe\xff\xff", True),
    ("2byte-lead-ascii", b"\xc2A", True),
    ("3byte-lead-ascii", b"\xe2\x82A", True),
    ("4byte-lead-ascii", b"\xf0\x9f\x98A", True),
    ("lead-lead", b"\xc3\xc3\xa9", True),
    ("kosme-surrogate-edited", KOSME + b"\xed\xa0\x80edited", True),
    ("truncated-2byte", b"\xce", False),
    ("truncated-3byte", b"\xe2\x82", False),
    ("truncated-4byte", b"\xf0\x9f\x98", False),
]


def _utf8(c: Catalogue) -> None:
    g = "utf8"
    for slug, data in VALID_UTF8:
        c.add(g, f"valid-{slug}", f"RFC 6455 §8.1/RFC 3629: valid UTF-8 ({slug}) in one frame is echoed",
              echo(TEXT, b"ok:" + data))
        c.add(g, f"valid-{slug}-bytewise", f"RFC 6455 §5.4/§8.1: valid UTF-8 ({slug}) in one-byte fragments "
              "(code points split across frames) is echoed", [Send(fragments(TEXT, chop(b"ok:" + data, 1))),
                                                              Msg(TEXT, b"ok:" + data)])
    for slug, data, detectable in INVALID_UTF8:
        bad = b"Hello " + data
        c.add(g, f"invalid-{slug}", f"RFC 6455 §8.1: invalid UTF-8 ({slug}) in a text message → 1007",
              [Send(frame(TEXT, bad)), Close(1007)])
        if detectable:
            c.add(g, f"failfast-{slug}", f"RFC 6455 §8.1 fail fast: invalid UTF-8 ({slug}) in a non-final "
                  "fragment → 1007 before the final fragment is sent",
                  [Send(frame(TEXT, bad, fin=False)), Close(1007)])
            c.add(g, f"failfast-{slug}-bytewise", f"RFC 6455 §8.1 fail fast: ({slug}) in one-byte fragments, "
                  "sent up to the bad byte → 1007 with the message unfinished",
                  [Send(b"".join(frame(TEXT if i == 0 else CONT, bytes([x]), fin=False) for i, x in enumerate(bad))),
                   Close(1007)])
        else:
            c.add(g, f"final-{slug}", f"RFC 6455 §8.1: a message ending inside a code point ({slug}) in its final "
                  "empty fragment → 1007", [Send(frame(TEXT, bad, fin=False)), Quiet(0.2), Send(frame(CONT, b"")),
                                            Close(1007)])
    c.add(g, "failfast-in-continuation", "RFC 6455 §8.1 fail fast: valid first fragment, invalid bytes in a "
          "non-final continuation → 1007", [Send(frame(TEXT, b"fine ", fin=False) + frame(CONT, b"\xed\xa0\x80", fin=False)),
                                            Close(1007)])
    c.add(g, "split-code-point-fragments", "RFC 6455 §8.1: a 4-byte code point split 1+3 across fragments is echoed",
          [Send(fragments(TEXT, [b"x\xf0", b"\x9f\x98\x80"])), Msg(TEXT, b"x\xf0\x9f\x98\x80")])
    c.add(g, "split-then-bad", "RFC 6455 §8.1: a code point started in one fragment and broken in the next → 1007",
          [Send(frame(TEXT, b"x\xe2\x82", fin=False) + frame(CONT, b"(", fin=False)), Close(1007)])
    # Fail fast inside one frame (only part of its payload sent): the bad bytes come first.
    for slug, data in (("surrogate", b"\xed\xa0\x80"), ("ff", b"\xff"), ("overlong", b"\xc0\xaf"),
                       ("above-10ffff", b"\xf4\x90\x80\x80")):
        head = KOSME + data + b"edited"
        body = head + b"-" * 1000
        c.add(g, f"failfast-partial-frame-{slug}", f"RFC 6455 §8.1 fail fast: one {len(body)}-byte frame of which "
              f"only the first {len(head)} bytes (with {slug}) are sent → 1007 before the frame ends",
              [Send(frame(TEXT, body)[:6 + 2 + len(head)]), Close(1007)])
    for slug, data in (("kosme", KOSME), ("emoji", "😀👍🏽".encode()), ("4byte-max", b"\xf4\x8f\xbf\xbf")):
        c.add(g, f"valid-{slug}-split-writes", f"RFC 6455 §8.1: one text frame ({slug}) written one byte at a time "
              "(code points split across TCP reads) is echoed", [Send(frame(TEXT, data * 3), chunk=1), Msg(TEXT, data * 3)])
    c.add(g, "invalid-split-writes", "RFC 6455 §8.1: a surrogate split across TCP writes inside one frame → 1007",
          [Send(frame(TEXT, b"ab\xed\xa0\x80cd"), chunk=1), Close(1007)])
    c.add(g, "binary-not-validated", "RFC 6455 §5.6: binary messages carry any bytes (no UTF-8 check)",
          echo(BINARY, b"\xed\xa0\x80\xff\xfe\xc0\x80"))


# ---- 7. close codes and reasons (RFC 6455 §5.5.1, §7.4) --------------------------------------------------------
VALID_CLOSE = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3500, 3999, 4000,
               4321, 4999]
INVALID_CLOSE = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 10000, 65535]


def _close(c: Catalogue) -> None:
    g = "close"
    for code in VALID_CLOSE:
        c.add(g, f"code-{code}", f"RFC 6455 §7.4.1/§7.4.2: close {code} (valid) is echoed with {code}, TCP closed",
              [Send(close_frame(code)), Close(code)])
    for code in (1000, 1001, 3000, 4999):
        c.add(g, f"code-{code}-reason", f"RFC 6455 §5.5.1: close {code} with a UTF-8 reason is answered {code}",
              [Send(close_frame(code, "bye κόσμε".encode())), Close(code)])
    for code in INVALID_CLOSE:
        c.add(g, f"invalid-{code}", f"RFC 6455 §7.4.1/§7.4.2: close code {code} is invalid on the wire → 1002",
              [Send(close_frame(code)), Close(1002)])
    for code in (999, 1005, 2000, 5000):
        c.add(g, f"invalid-{code}-reason", f"RFC 6455 §7.4: invalid code {code} with a reason → 1002",
              [Send(close_frame(code, b"some reason")), Close(1002)])
    c.add(g, "empty", "RFC 6455 §5.5.1/§7.1.5: a close without payload is answered without a code",
          [Send(close_frame(None)), Close(None)])
    c.add(g, "one-byte", "RFC 6455 §5.5.1: a close payload of one byte → 1002",
          [Send(frame(CLOSE, b"\x03")), Close(1002)])
    c.add(g, "reason-max", "RFC 6455 §5.5: close 1000 with a 123-byte reason (125-byte payload) is echoed",
          [Send(close_frame(1000, b"r" * 123)), Close(1000)])
    c.add(g, "reason-max-multibyte", "RFC 6455 §5.5: a 123-byte reason of 41 three-byte code points is accepted",
          [Send(close_frame(1000, "€".encode() * 41)), Close(1000)])
    c.add(g, "reason-too-long", "RFC 6455 §5.5: close with a 124-byte reason (126-byte payload) → 1002",
          [Send(close_frame(1000, b"r" * 124)), Close(1002)])
    c.add(g, "reason-invalid-utf8", "RFC 6455 §5.5.1/§8.1: close reason with invalid UTF-8 → 1007",
          [Send(close_frame(1000, b"bad \xed\xa0\x80 reason")), Close(1007)])
    c.add(g, "reason-truncated-utf8", "RFC 6455 §5.5.1/§8.1: close reason ending inside a code point → 1007",
          [Send(close_frame(1000, b"bad \xe2\x82")), Close(1007)])
    c.add(g, "reason-ff", "RFC 6455 §5.5.1/§8.1: close reason with 0xFF → 1007",
          [Send(close_frame(1000, b"\xff")), Close(1007)])
    c.add(g, "reason-invalid-and-bad-code", "RFC 6455 §7.4: invalid code 1005 with a valid reason → 1002",
          [Send(close_frame(1005, b"reason")), Close(1002)])
    c.add(g, "data-after-close", "RFC 6455 §5.5.1: a text frame after our close is not echoed",
          [Send(close_frame(1000) + frame(TEXT, b"ignored")), Close(1000)])
    c.add(g, "echo-then-close", "RFC 6455 §5.5.1: a message then a close in one write: close 1000 (the echo MAY "
          "come first: the server may answer the close before its application replies)",
          [Send(frame(TEXT, b"last words") + close_frame(1000)), Close(1000, maybe=[Msg(TEXT, b"last words")])])
    c.add(g, "echo-wait-close", "RFC 6455 §5.5.1: a message, its echo, then close 1000 answered with 1000",
          echo(TEXT, b"last words") + [Send(close_frame(1000)), Close(1000)])
    c.add(g, "close-bytewise", "RFC 6455 §5.5.1: a close frame written one byte at a time",
          [Send(close_frame(1001, b"slow"), chunk=1), Close(1001)])
    c.add(g, "two-closes", "RFC 6455 §5.5.1: a second close frame after the first is ignored",
          [Send(close_frame(1000) + close_frame(3000)), Close(1000)])
    c.add(g, "close-nonminimal-length", "RFC 6455 §5.2: a close with a 16-bit length encoding 2 → 1002",
          [Send(frame(CLOSE, close_payload(1000), form=16)), Close(1002)])
    c.add(g, "close-unmasked", "RFC 6455 §5.1: an unmasked close frame → 1002",
          [Send(frame(CLOSE, close_payload(1000), masked=False)), Close(1002)])
    c.add(g, "tcp-half-close", "RFC 6455 §7.1.1: close frame, then our FIN: server answers 1000 and closes TCP",
          [Send(close_frame(1000)), Shutdown(), Close(1000)])
    c.add(g, "fin-without-close", "RFC 6455 §7.1.1/§7.1.5: our FIN without a close frame: the server closes TCP "
          "(1006 is never sent on the wire)", [Shutdown(), Eof()])
    c.add(g, "fin-inside-frame", "RFC 6455 §7.1.5: FIN in the middle of a frame: the server closes TCP",
          [Send(frame(TEXT, b"truncated frame")[:9]), Shutdown(), Eof()])


# ---- 8. opening handshake (RFC 6455 §4.1, §4.2, §4.4) ---------------------------------------------------------
def _req(lines: list, terminator: bytes = b"\r\n") -> bytes:
    return b"".join(l + terminator for l in lines) + terminator


BASE = [b"GET /chat HTTP/1.1", b"Host: {host}", b"Upgrade: websocket", b"Connection: Upgrade",
        b"Sec-WebSocket-Key: {key}", b"Sec-WebSocket-Version: 13"]


def _without(name: bytes, extra: Optional[list] = None) -> bytes:
    lines = [l for l in BASE if not l.lower().startswith(name.lower() + b":")]
    return _req(lines + (extra or []))


def _replace(name: bytes, value: Optional[bytes], extra: Optional[list] = None) -> bytes:
    lines = []
    for l in BASE:
        if l.lower().startswith(name.lower() + b":"):
            if value is not None:
                lines.append(name + b": " + value)
        else:
            lines.append(l)
    return _req(lines + (extra or []))


def _handshake(c: Catalogue) -> None:
    g = "handshake"

    def add_ok(slug, title, request, more=None):
        c.add(g, slug, title, [] if more is None else more, request=request, handshake=Http(101))

    def add_status(slug, title, request, status, **hk):
        c.add(g, slug, title, [], request=request, handshake=Http(status, **hk))

    add_ok("valid", "RFC 6455 §4.2.2: a valid request gets 101 with Upgrade, Connection and Sec-WebSocket-Accept",
           _req(BASE), echo(TEXT, b"after handshake"))
    c.add(g, "rfc-sample-key", "RFC 6455 §1.3/§4.2.2: key dGhlIHNhbXBsZSBub25jZQ== → accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
          [], request=_replace(b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
          handshake=Http(101, headers={"sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}))
    add_ok("lowercase-names", "RFC 7230 §3.2: header names are case-insensitive",
           _req([l.split(b":")[0].lower() + b":" + l.split(b":", 1)[1] if b":" in l and not l.startswith(b"GET") else l
                 for l in BASE]))
    add_ok("uppercase-names", "RFC 7230 §3.2: upper-case header names",
           _req([l.split(b":")[0].upper() + b":" + l.split(b":", 1)[1] if b":" in l and not l.startswith(b"GET") else l
                 for l in BASE]))
    add_ok("upgrade-value-case", "RFC 6455 §4.2.1 item 3: Upgrade value compared case-insensitively (WebSocket)",
           _replace(b"Upgrade", b"WebSocket"))
    add_ok("connection-list", "RFC 6455 §4.2.1 item 4: Connection: keep-alive, Upgrade",
           _replace(b"Connection", b"keep-alive, Upgrade"))
    add_ok("connection-lowercase", "RFC 6455 §4.2.1 item 4: Connection: upgrade (case-insensitive token)",
           _replace(b"Connection", b"upgrade"))
    add_ok("no-space-after-colon", "RFC 7230 §3.2: OWS after the colon is optional",
           _req([l.replace(b": ", b":") for l in BASE]))
    add_ok("extra-whitespace", "RFC 7230 §3.2: OWS around header values (spaces and tabs)",
           _req([l.replace(b": ", b": \t ") + b" \t" if b": " in l else l for l in BASE]))
    add_ok("absolute-uri", "RFC 6455 §4.1/§4.2.1 item 1: absolute ws:// request-target",
           _req([b"GET ws://{host}/chat HTTP/1.1"] + BASE[1:]))
    add_ok("absolute-http-uri", "RFC 6455 §4.2.1 item 1 / RFC 7230 §5.3.2: absolute http:// request-target",
           _req([b"GET http://{host}/chat?x=1 HTTP/1.1"] + BASE[1:]))
    add_ok("query", "RFC 6455 §3/§4.1: resource name with a query", _req([b"GET /chat?room=1&x=%20 HTTP/1.1"] + BASE[1:]))
    add_ok("root-path", "RFC 6455 §3: resource name /", _req([b"GET / HTTP/1.1"] + BASE[1:]))
    add_ok("with-origin", "RFC 6455 §4.2.1 item 7 / §10.2: Origin header present (no allow-list): 101",
           _req(BASE + [b"Origin: http://example.com"]))
    add_ok("extra-headers", "RFC 6455 §4.2.1 item 10: unrelated headers (cookies, user agent) are ignored",
           _req(BASE + [b"User-Agent: conformance/1.0", b"Cookie: a=b; c=d", b"X-Custom: 1", b"Accept: */*"]))
    add_ok("headers-reordered", "RFC 7230 §3.2.2: header order does not matter", _req([BASE[0]] + BASE[1:][::-1]))
    add_ok("bare-lf", "RFC 7230 §3.5: bare LF line endings are tolerated", _req(BASE, b"\n"))
    add_ok("http-1.1-bytewise", "RFC 6455 §4.2.1: the request arriving one byte per write",
           _req(BASE), echo(TEXT, b"slow handshake"))
    c.cases[-1].chunk_request = 1
    add_ok("leading-crlf", "RFC 7230 §3.5: empty lines before the request-line are ignored",
           b"\r\n" + _req(BASE))
    add_ok("frame-after-request", "RFC 6455 §4.2.2/§5: a frame in the same write as the request is echoed",
           _req(BASE) + frame(TEXT, b"eager"), [Msg(TEXT, b"eager")])
    add_ok("unknown-extension", "RFC 6455 §9.1: an unknown extension offer is not accepted (no Extensions header)",
           _req(BASE + [b"Sec-WebSocket-Extensions: x-unknown; a=1"]))
    c.cases[-1].handshake = Http(101, absent=("sec-websocket-extensions",))
    add_ok("no-extensions-header", "RFC 6455 §4.2.2 item 5.6: no extension offered → no Sec-WebSocket-Extensions",
           _req(BASE))
    c.cases[-1].handshake = Http(101, absent=("sec-websocket-extensions", "sec-websocket-protocol"))

    add_ok("connection-two-headers", "RFC 7230 §3.2.2: Connection split over two header fields (keep-alive; Upgrade)",
           _req([l for l in BASE if not l.startswith(b"Connection")] + [b"Connection: keep-alive", b"Connection: Upgrade"]))
    add_ok("upgrade-list", "RFC 7230 §6.7: Upgrade: websocket among other protocols (foo/2, websocket)",
           _replace(b"Upgrade", b"foo/2, websocket"))
    add_ok("key-whitespace", "RFC 7230 §3.2.4: OWS around the Sec-WebSocket-Key value is not part of it",
           _replace(b"Sec-WebSocket-Key", b" \t{key}\t "))
    add_status("missing-host", "RFC 6455 §4.2.1 item 2: missing Host → 400", _without(b"Host"), 400)
    add_status("empty-host", "RFC 6455 §4.2.1 item 2: empty Host → 400", _replace(b"Host", b""), 400)
    add_status("two-hosts", "RFC 7230 §5.4: two Host headers → 400", _req(BASE + [b"Host: other"]), 400)
    add_status("missing-upgrade", "RFC 6455 §4.2.1 item 3: missing Upgrade → 400", _without(b"Upgrade"), 400)
    add_status("upgrade-h2c", "RFC 6455 §4.2.1 item 3: Upgrade: h2c → 400", _replace(b"Upgrade", b"h2c"), 400)
    add_status("missing-connection", "RFC 6455 §4.2.1 item 4: missing Connection → 400", _without(b"Connection"), 400)
    add_status("connection-close", "RFC 6455 §4.2.1 item 4: Connection: close → 400",
               _replace(b"Connection", b"close"), 400)
    add_status("missing-key", "RFC 6455 §4.2.1 item 5: missing Sec-WebSocket-Key → 400",
               _without(b"Sec-WebSocket-Key"), 400)
    add_status("empty-key", "RFC 6455 §4.2.1 item 5: empty Sec-WebSocket-Key → 400",
               _replace(b"Sec-WebSocket-Key", b""), 400)
    add_status("key-15-bytes", "RFC 6455 §4.1 item 7: key decoding to 15 bytes → 400",
               _replace(b"Sec-WebSocket-Key", b"AAAAAAAAAAAAAAAAAAAA"), 400)
    add_status("key-17-bytes", "RFC 6455 §4.1 item 7: key decoding to 17 bytes → 400",
               _replace(b"Sec-WebSocket-Key", b"AAAAAAAAAAAAAAAAAAAAAAA="), 400)
    add_status("key-not-base64", "RFC 6455 §4.1 item 7: key with non-base64 characters → 400",
               _replace(b"Sec-WebSocket-Key", b"!!!!!!!!!!!!!!!!!!!!!!=="), 400)
    add_status("key-no-padding", "RFC 6455 §4.1 item 7: 16-byte key without its == padding → 400",
               _replace(b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ"), 400)
    add_status("two-keys", "RFC 6455 §11.3.1: Sec-WebSocket-Key more than once → 400",
               _req(BASE + [b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]), 400)
    v426 = {"sec-websocket-version": "13", "upgrade": "websocket"}   # RFC 6455 §4.4, RFC 7231 §6.5.15
    add_status("missing-version", "RFC 6455 §4.2.1 item 6/§4.4: no Sec-WebSocket-Version → 426 with version 13",
               _without(b"Sec-WebSocket-Version"), 426, headers=v426)
    for v in (b"8", b"12", b"14", b"0", b"abc", b"13, 8"):
        add_status(f"version-{v.decode().replace(', ', '-')}", f"RFC 6455 §4.4: Sec-WebSocket-Version: {v.decode()} → "
                   "426 with Sec-WebSocket-Version: 13", _replace(b"Sec-WebSocket-Version", v), 426, headers=v426)
    add_status("version-leading-zero", "RFC 6455 §4.2.1 item 6/§4.4: Sec-WebSocket-Version: 013 is not 13 → 426",
               _replace(b"Sec-WebSocket-Version", b"013"), 426, headers=v426)
    add_status("two-versions", "RFC 6455 §11.3.5: Sec-WebSocket-Version twice → 426",
               _req(BASE + [b"Sec-WebSocket-Version: 8"]), 426, headers=v426)
    for m in (b"POST", b"PUT", b"HEAD", b"DELETE", b"get"):
        add_status(f"method-{m.decode()}", f"RFC 6455 §4.1/RFC 7231 §6.5.5: method {m.decode()} → 405 with Allow: GET",
                   _req([m + b" /chat HTTP/1.1"] + BASE[1:]), 405, headers={"allow": "GET"})
    add_status("http-1.0", "RFC 6455 §4.2.1 item 1: HTTP/1.0 → 400", _req([b"GET /chat HTTP/1.0"] + BASE[1:]), 400)
    add_status("no-http-version", "RFC 7230 §3.1.1: request-line without HTTP version → 400",
               _req([b"GET /chat"] + BASE[1:]), 400)
    add_status("garbage", "RFC 7230 §3: not HTTP at all → 400", b"\x16\x03\x01\x00\xa5garbage\r\n\r\n", 400)
    add_status("header-no-colon", "RFC 7230 §3.2: header line without a colon → 400",
               _req(BASE + [b"NoColonHere"]), 400)
    add_status("space-before-colon", "RFC 7230 §3.2.4: whitespace before the colon → 400",
               _req(BASE + [b"X-Bad : 1"]), 400)
    add_status("obs-fold", "RFC 7230 §3.2.4: obs-fold continuation line → 400",
               _req(BASE + [b"X-Folded: a", b"  b"]), 400)
    add_status("relative-target", "RFC 6455 §4.1: request-target not starting with / → 400",
               _req([b"GET chat HTTP/1.1"] + BASE[1:]), 400)
    add_status("ctl-in-value", "RFC 7230 §3.2: control byte in a header value → 400",
               _req(BASE + [b"X-Ctl: a\x01b"]), 400)
    add_status("oversized-header", "RFC 6455 §4.2.1 / engine limit: a 20 KiB header block → 400",
               _req(BASE + [b"X-Pad-%d: " % i + b"p" * 1000 for i in range(20)]), 400)
    add_status("oversized-line", "engine limit: one 9000-byte header line → 400",
               _req(BASE + [b"X-Long: " + b"l" * 9000]), 400)
    add_status("too-many-headers", "engine limit: 120 header fields → 400",
               _req(BASE + [b"X-H%d: v" % i for i in range(120)]), 400)
    add_status("bad-header-name", "RFC 7230 §3.2: a header name that is not a token (contains a space) → 400",
               _req(BASE + [b"X Bad: 1"]), 400)
    add_status("double-space-request-line", "RFC 7230 §3.1.1: two spaces in the request-line → 400",
               _req([b"GET  /chat HTTP/1.1"] + BASE[1:]), 400)
    add_status("lowercase-http", "RFC 7230 §2.6: HTTP-name is case-sensitive (http/1.1) → 400",
               _req([b"GET /chat http/1.1"] + BASE[1:]), 400)
    add_status("nul-in-target", "RFC 7230 §3.1.1: a NUL byte in the request-target → 400",
               _req([b"GET /ch\x00at HTTP/1.1"] + BASE[1:]), 400)
    add_status("bad-extension-syntax", "RFC 6455 §9.1: malformed Sec-WebSocket-Extensions → 400",
               _req(BASE + [b"Sec-WebSocket-Extensions: permessage-deflate; ;"]), 400)
    add_status("bad-protocol-syntax", "RFC 6455 §4.1/§11.3.4: subprotocol not a token (chat/1) → 400",
               _req(BASE + [b"Sec-WebSocket-Protocol: chat/1"]), 400)


# ---- 9. subprotocols (RFC 6455 §1.9, §4.2.2 item 5.4, §11.3.4) ------------------------------------------------
def _subprotocols(c: Catalogue) -> None:
    g = "subprotocols"
    none = Http(101, absent=("sec-websocket-protocol",))
    for slug, offers in (("one", ["chat"]), ("two", ["chat, superchat"]), ("two-headers", ["chat", "superchat"]),
                         ("whitespace", ["  chat ,\tsuperchat  "]), ("empty-elements", ["chat, , superchat,"]),
                         ("many", [", ".join(f"proto{i}" for i in range(30))]),
                         ("token-chars", ["v1.chat+json, x-y_z~"])):
        c.add(g, f"unsupported-{slug}", f"RFC 6455 §4.2.2 item 5.4: server supporting no subprotocol answers an offer "
              f"({slug}) without Sec-WebSocket-Protocol", echo(TEXT, b"proto"), protocols=offers, handshake=none)
    c.add(g, "none-offered", "RFC 6455 §4.2.2 item 5.4: no offer → no Sec-WebSocket-Protocol", [],
          handshake=none)
    c.add(g, "with-deflate", "RFC 6455 §4.2.2 / RFC 7692: subprotocol offer with permessage-deflate: extension "
          "accepted, no subprotocol", [SendMsg(TEXT, text_payload(200, 3)), Msg(TEXT, text_payload(200, 3))],
          protocols=["chat"], extensions="permessage-deflate", handshake=none)
    c.add(g, "bad-token-quote", "RFC 6455 §11.3.4: a quoted subprotocol is not a token → 400", [],
          protocols=['"chat"'], handshake=Http(400))
    c.add(g, "bad-token-space", "RFC 6455 §11.3.4: a subprotocol containing a space → 400", [],
          protocols=["my chat"], handshake=Http(400))


# ---- 10. limits (RFC 6455 §7.4.1 code 1009; engine maxFrameSize / maxMessageSize) --------------------------
def _limits(c: Catalogue, limits: dict) -> None:
    g = "limits"
    fl, ml = limits["frame"], limits["message"]
    c.add(g, "frame-over-limit-header", f"RFC 6455 §7.4.1 (1009): a frame header declaring {fl + 1} bytes (limit {fl}) "
          "→ 1009 before any payload is sent", [Send(frame(BINARY, b"", length=fl + 1)), Close(1009)])
    c.add(g, "frame-2^63-1", "RFC 6455 §5.2/§7.4.1: a frame declaring 2^63-1 bytes → 1009 at once",
          [Send(frame(BINARY, b"", length=(1 << 63) - 1, form=64)), Close(1009)])
    c.add(g, "text-frame-over-limit", f"RFC 6455 §7.4.1: a text frame header declaring {fl + 1} bytes → 1009",
          [Send(frame(TEXT, b"", length=fl + 1)), Close(1009)])
    c.add(g, "continuation-over-limit", f"RFC 6455 §7.4.1: a continuation declaring {fl + 1} bytes → 1009",
          [Send(frame(BINARY, b"x", fin=False) + frame(CONT, b"", length=fl + 1)), Close(1009)])
    piece = min(fl, 8 << 20)
    n = ml // piece + 1
    zero = b"\0\0\0\0"
    blob = b"\xab" * piece
    data = lambda: b"".join(frame(BINARY if i == 0 else CONT, blob, fin=False, key=zero) for i in range(n))  # noqa: E731
    c.add(g, "message-over-limit", f"RFC 6455 §7.4.1: fragments of {piece} bytes passing the {ml}-byte message "
          "limit → 1009 (no final fragment sent)", [Send(data, ignore_errors=True), Close(1009)], heavy=ml > (8 << 20))
    c.add(g, "message-over-limit-declared", f"RFC 6455 §7.4.1 fail fast: a 1-byte fragment, then a continuation "
          f"header declaring {ml} bytes (message would be {ml + 1} > {ml}) → 1009 before its payload",
          [Send(frame(BINARY, b"x", fin=False) + frame(CONT, b"", length=ml)), Close(1009)])
    c.add(g, "compressed-frame-over-limit", f"RFC 6455 §7.4.1/RFC 7692: a compressed frame header declaring {fl + 1} "
          "bytes → 1009", [Send(frame(BINARY, b"", length=fl + 1, rsv=RSV1)), Close(1009)],
          extensions="permessage-deflate", handshake=Http(101, check=deflate_checker("permessage-deflate")))
    heavy_limits = ml > (8 << 20)
    at = min(ml, fl)
    c.add(g, "message-at-limit", f"limits: a binary message of exactly {at} bytes (the limit) is accepted and echoed",
          [Send(lambda: frame(BINARY, b"\xcd" * at, key=zero)), Msg(BINARY, b"\xcd" * at)], heavy=heavy_limits)
    count = ml // (1 << 20) + 4
    one = Send(lambda: frame(BINARY, b"\xee" * (1 << 20), key=zero))   # one object: built once
    c.add(g, "limit-per-message", f"limits: {count} messages of 1 MiB ({count} MiB in all, over the {ml}-byte limit), "
          "each echo read before the next send, are all echoed: the limit is per message",
          [one, Msg(BINARY, b"\xee" * (1 << 20))] * count, heavy=heavy_limits)
    small = binary_payload(1000, 77)
    c.add(g, "still-echoes", "limits: ordinary messages well under the limits are echoed", echo(BINARY, small))


# ---- 11. permessage-deflate (RFC 7692) ---------------------------------------------------------------------------
def _offer(snct: bool, cnct: bool, smwb: Optional[int], cmwb) -> str:
    """cmwb: None (absent), True (no value) or an int."""
    parts = ["permessage-deflate"]
    if snct:
        parts.append("server_no_context_takeover")
    if cnct:
        parts.append("client_no_context_takeover")
    if smwb is not None:
        parts.append(f"server_max_window_bits={smwb}")
    if cmwb is True:
        parts.append("client_max_window_bits")
    elif cmwb is not None:
        parts.append(f"client_max_window_bits={cmwb}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=None)
def _probe() -> tuple:
    far = text_payload(2000, 41)
    return far + far, text_payload(300, 42) * 3, binary_payload(50, 43) * 40


def deflate_probe() -> list:
    """Messages that catch a server ignoring the negotiated window or context takeover: repeats at a distance
    of 2000 bytes (beyond a 9–10-bit window), and the same message twice (context takeover would shrink
    the second). Each is echoed; the runner inflates with the negotiated parameters."""
    m1, m2, b = _probe()
    return [SendMsg(TEXT, m1), Msg(TEXT, m1), SendMsg(TEXT, m2), Msg(TEXT, m2), SendMsg(TEXT, m2), Msg(TEXT, m2),
            SendMsg(BINARY, b, parts=3), Msg(BINARY, b)]


def _deflate(c: Catalogue, limits: dict) -> None:
    g = "deflate"
    # Every combination of the four parameters (RFC 7692 §7.1), window values at the edges and inside.
    for snct in (False, True):
        for cnct in (False, True):
            for smwb in (None, 8, 9, 12, 15):
                for cmwb in (None, True, 8, 9, 12, 15):
                    offer = _offer(snct, cnct, smwb, cmwb)
                    slug = "pmd" + ("-snct" if snct else "") + ("-cnct" if cnct else "") + \
                           (f"-smwb{smwb}" if smwb else "") + ("-cmwb" if cmwb is True else f"-cmwb{cmwb}" if cmwb else "")
                    c.add(g, slug, f"RFC 7692 §7.1: offer '{offer}' is accepted within its limits and messages echo",
                          deflate_probe(), extensions=offer, handshake=Http(101, check=deflate_checker(offer)))
    for bits in (10, 11, 13, 14):
        offer = _offer(False, False, bits, None)
        c.add(g, f"smwb-{bits}", f"RFC 7692 §7.1.2.1: server_max_window_bits={bits}: the server compresses within it",
              deflate_probe(), extensions=offer, handshake=Http(101, check=deflate_checker(offer)))
        offer = _offer(False, False, None, bits)
        c.add(g, f"cmwb-{bits}", f"RFC 7692 §7.1.2.2: client_max_window_bits={bits}: messages with that window",
              deflate_probe(), extensions=offer, handshake=Http(101, check=deflate_checker(offer)))
    for bits in (15, 12):
        offer = f"permessage-deflate; server_max_window_bits={bits}"
        c.add(g, f"smwb-{bits}-in-response", f"RFC 7692 §7.1.2.1 (strict): a server accepting an offer with "
              f"server_max_window_bits={bits} does so by including server_max_window_bits (≤ {bits}) in its response",
              deflate_probe(), extensions=offer, handshake=Http(101, check=_smwb_included(bits)))
    c.add(g, "quoted-value", "RFC 6455 §9.1/RFC 7692 §7.1: server_max_window_bits=\"10\" (quoted-string) accepted",
          deflate_probe(), extensions='permessage-deflate; server_max_window_bits="10"',
          handshake=Http(101, check=deflate_checker("permessage-deflate; server_max_window_bits=10")))
    # Declined offers: 101 without the extension (RFC 7692 §5/§7.1).
    declined = Http(101, absent=("sec-websocket-extensions",))
    for slug, offer in (
            ("smwb-novalue", "permessage-deflate; server_max_window_bits"),
            ("smwb-7", "permessage-deflate; server_max_window_bits=7"),
            ("smwb-16", "permessage-deflate; server_max_window_bits=16"),
            ("smwb-0", "permessage-deflate; server_max_window_bits=0"),
            ("smwb-leading-zero", "permessage-deflate; server_max_window_bits=010"),
            ("smwb-text", "permessage-deflate; server_max_window_bits=abc"),
            ("cmwb-7", "permessage-deflate; client_max_window_bits=7"),
            ("cmwb-16", "permessage-deflate; client_max_window_bits=16"),
            ("cmwb-leading-zero", "permessage-deflate; client_max_window_bits=09"),
            ("snct-value", "permessage-deflate; server_no_context_takeover=1"),
            ("cnct-value", "permessage-deflate; client_no_context_takeover=true"),
            ("dup-snct", "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
            ("dup-cnct", "permessage-deflate; client_no_context_takeover; client_no_context_takeover"),
            ("dup-smwb", "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"),
            ("dup-cmwb", "permessage-deflate; client_max_window_bits; client_max_window_bits=10"),
            ("unknown-param", "permessage-deflate; foo"),
            ("unknown-param-value", "permessage-deflate; x=1")):
        c.add(g, f"declined-{slug}", f"RFC 7692 §7.1: offer '{offer}' is declined (101 without the extension), "
              "and RSV1 then → 1002", [Send(frame(TEXT, b"plain")), Msg(TEXT, b"plain", compressed=False),
                                        Send(frame(TEXT, b"\x00", rsv=RSV1)), Close(1002)],
              extensions=offer, handshake=declined)
    c.add(g, "fallback-second-offer", "RFC 7692 §5.1: an invalid first offer, a valid second one: the second is accepted",
          deflate_probe(), extensions="permessage-deflate; server_max_window_bits=99, permessage-deflate; "
          "client_no_context_takeover", handshake=Http(101, check=deflate_checker(
              "permessage-deflate; client_no_context_takeover")))
    c.add(g, "after-unknown", "RFC 7692 §5.1: x-unknown then permessage-deflate: only permessage-deflate accepted",
          deflate_probe(), extensions="x-unknown, permessage-deflate",
          handshake=Http(101, check=deflate_checker("permessage-deflate")))
    c.add(g, "two-headers", "RFC 6455 §9.1: offers in two Sec-WebSocket-Extensions headers: the first usable wins",
          deflate_probe(), extensions=["permessage-deflate; server_max_window_bits=11", "permessage-deflate"],
          handshake=Http(101, check=deflate_checker("permessage-deflate; server_max_window_bits=11")))
    # Messages on a plain "permessage-deflate" connection.
    pmd = "permessage-deflate"

    def add(slug, title, steps, offer=pmd, hs=None, **kw):
        c.add(g, slug, title, steps, extensions=offer, handshake=hs or Http(101, check=deflate_checker(offer)), **kw)

    for n in (0, 1, 63, 64, 1000, 65536, 300000):
        t = text_payload(n, 500 + n)
        add(f"text-{n}", f"RFC 7692 §6/§7.2: compressed text of {n} bytes is echoed", [SendMsg(TEXT, t), Msg(TEXT, t)])
    for n in (0, 100, 70000):
        b = binary_payload(n, 600 + n)
        add(f"binary-{n}", f"RFC 7692 §6/§7.2: compressed binary of {n} bytes (incompressible) is echoed",
            [SendMsg(BINARY, b), Msg(BINARY, b)])
    t = text_payload(5000, 7)
    add("fragmented-2", "RFC 7692 §6.1: a compressed message in 2 frames (RSV1 on the first only) is echoed",
        [SendMsg(TEXT, t, parts=2), Msg(TEXT, t)])
    add("fragmented-10", "RFC 7692 §6.1: a compressed message in 10 frames is echoed", [SendMsg(TEXT, t, parts=10), Msg(TEXT, t)])
    mb = ("κόσμε 日本語 😀 " * 200).encode()
    add("multibyte-fragmented", "RFC 7692 §6.1/RFC 6455 §8.1: compressed multi-byte text in 7 frames is echoed",
        [SendMsg(TEXT, mb, parts=7), Msg(TEXT, mb)])
    add("compressed-bytewise", "RFC 7692 §6: a compressed message arriving one byte per write is echoed",
        [Send(frame(TEXT, zlib_raw(b"slowly compressed " * 10), rsv=RSV1), chunk=1), Msg(TEXT, b"slowly compressed " * 10)],
        offer="permessage-deflate; client_no_context_takeover")
    add("uncompressed", "RFC 7692 §6: an uncompressed message (RSV1 clear) on a deflate connection is echoed",
        [SendMsg(TEXT, t, compress=False), Msg(TEXT, t)])
    add("mixed", "RFC 7692 §6/§7.2.3: compressed, plain, compressed with context takeover, all echoed",
        [SendMsg(TEXT, t), Msg(TEXT, t), SendMsg(BINARY, b"plain" * 30, compress=False), Msg(BINARY, b"plain" * 30),
         SendMsg(TEXT, t), Msg(TEXT, t), SendMsg(TEXT, t + b"!"), Msg(TEXT, t + b"!")])
    add("context-takeover-10", "RFC 7692 §7.2.3.3: ten messages compressed with context takeover are echoed",
        sum(([SendMsg(TEXT, t[i:] + t[:i]), Msg(TEXT, t[i:] + t[:i])] for i in range(0, 1000, 100)), []))
    add("bfinal", "RFC 7692 §7.2.3.4: a message whose DEFLATE data ends with a BFINAL block is echoed",
        [SendMsg(TEXT, t, final_block=True), Msg(TEXT, t), SendMsg(TEXT, t), Msg(TEXT, t)])
    add("ping-between-fragments", "RFC 7692 §6.1/RFC 6455 §5.4: ping between compressed fragments",
        [Send(_deflate_raw(TEXT, t, 2, ping_between=b"pp")), Pong(b"pp"), Msg(TEXT, t)],
        offer="permessage-deflate; client_no_context_takeover")
    add("rsv1-continuation", "RFC 7692 §6.1: RSV1 set on a continuation frame → 1002",
        [Send(frame(TEXT, zlib_raw(b"abc")[:2], fin=False, rsv=RSV1) + frame(CONT, zlib_raw(b"abc")[2:], rsv=RSV1)),
         Close(1002)])
    add("rsv1-continuation-uncompressed", "RFC 7692 §6.1: RSV1 on the continuation of an uncompressed message → 1002",
        [Send(frame(TEXT, b"ab", fin=False) + frame(CONT, b"cd", rsv=RSV1)), Close(1002)])
    for op, name in ((PING, "ping"), (PONG, "pong"), (CLOSE, "close")):
        payload = close_payload(1000) if op == CLOSE else b"ctl"
        add(f"rsv1-{name}", f"RFC 7692 §6.1: a compressed (RSV1) {name} frame → 1002",
            [Send(frame(op, payload, rsv=RSV1)), Close(1002)])
    add("rsv2", "RFC 7692 §6/RFC 6455 §5.2: RSV2 on a data frame with deflate negotiated → 1002",
        [Send(frame(TEXT, b"x", rsv=RSV2)), Close(1002)])
    add("rsv3", "RFC 7692 §6/RFC 6455 §5.2: RSV3 on a data frame with deflate negotiated → 1002",
        [Send(frame(BINARY, b"x", rsv=RSV3)), Close(1002)])
    add("rsv1-rsv2", "RFC 6455 §5.2: RSV1|RSV2 with only deflate negotiated → 1002",
        [Send(frame(TEXT, zlib_raw(b"abc"), rsv=RSV1 | RSV2)), Close(1002)])
    add("invalid-utf8", "RFC 7692 §6/RFC 6455 §8.1: compressed text inflating to invalid UTF-8 → 1007",
        [Send(frame(TEXT, zlib_raw(b"bad \xed\xa0\x80 text"), rsv=RSV1)), Close(1007)])
    add("invalid-utf8-fragmented", "RFC 6455 §8.1 fail fast: compressed first fragment inflating to invalid UTF-8 → 1007",
        [Send(frame(TEXT, zlib_raw(b"bad \xff" + b"y" * 100), fin=False, rsv=RSV1)), Close(1007)])
    add("garbage-deflate", "RFC 7692 §6.2: compressed data that is not DEFLATE → 1007",
        [Send(frame(BINARY, b"\xff\xff\xff\xff\xff\xff", rsv=RSV1)), Close(1007)])
    add("reserved-btype", "RFC 7692 §6.2 / RFC 1951 §3.2.3: DEFLATE block type 3 (reserved) → 1007",
        [Send(frame(BINARY, b"\x07\x00", rsv=RSV1)), Close(1007)])
    add("empty-compressed", "RFC 7692 §7.2.3.6: an empty compressed message (a single 0x00) is echoed empty",
        [Send(frame(TEXT, b"\x00", rsv=RSV1)), Msg(TEXT, b"")])
    add("uncompressed-block", "RFC 7692 §7.2.3.3: a message sent as a DEFLATE stored block is echoed",
        [Send(frame(BINARY, _stored_block(b"stored data"), rsv=RSV1)), Msg(BINARY, b"stored data")],
        offer="permessage-deflate; client_no_context_takeover")
    bomb = limits["message"] + 1
    add("inflate-over-limit", f"RFC 6455 §7.4.1 / RFC 7692 §8: a message inflating to {bomb} bytes (over the "
        "message limit) → 1009", [Send(lambda: frame(BINARY, _zeros_deflated(bomb), rsv=RSV1, key=b"\0\0\0\0")), Close(1009)],
        offer="permessage-deflate; client_no_context_takeover", heavy=bomb > (8 << 20))
    add("inflate-over-limit-fragmented", f"RFC 6455 §7.4.1 / RFC 7692 §8: a compressed message in 3 fragments "
        f"inflating to {bomb} bytes → 1009", [Send(lambda: _fragmented_bomb(bomb)), Close(1009)],
        offer="permessage-deflate; client_no_context_takeover", heavy=bomb > (8 << 20))
    add("server-compresses", "RFC 7692 §6: with deflate, the server's echo of a large compressible message is compressed",
        [SendMsg(TEXT, b"a" * 5000), Msg(TEXT, b"a" * 5000, compressed=True)])
    add("no-deflate-no-rsv1", "RFC 7692 §6: without the extension the server never sets RSV1",
        [SendMsg(TEXT, b"a" * 5000, compress=False), Msg(TEXT, b"a" * 5000, compressed=False)], offer=None,
        hs=Http(101, absent=("sec-websocket-extensions",)))


TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1: the empty stored block a sender removes, a receiver appends


def strip_tail(data: bytes) -> bytes:
    """A compressed message without its §7.2.1 tail (when it ends with one)."""
    return data[:-4] if data.endswith(TAIL) else data


def zlib_raw(data: bytes, bits: int = 15, final: bool = False) -> bytes:
    """Raw DEFLATE of one message with the §7.2.1 tail removed (fresh context)."""
    co = zlib.compressobj(6, zlib.DEFLATED, -max(9, bits))
    out = co.compress(data) + co.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
    return out if final else strip_tail(out)


def _deflate_raw(opcode: int, data: bytes, parts: int, ping_between: bytes) -> bytes:
    comp = zlib_raw(data)
    pieces = chop(comp, max(1, len(comp) // parts + 1))
    out = frame(opcode, pieces[0], fin=len(pieces) == 1, rsv=RSV1)
    for i, p in enumerate(pieces[1:], 1):
        out += frame(PING, ping_between) if i == 1 else b""
        out += frame(CONT, p, fin=i == len(pieces) - 1)
    return out


def _stored_block(data: bytes) -> bytes:
    # BFINAL=0, BTYPE=00, then LEN/NLEN (RFC 1951 §3.2.4); no tail (the receiver appends 00 00 FF FF).
    # RFC 7692 §7.2.3.3: then the first byte (BFINAL=0, BTYPE=00) of the empty stored block whose LEN/NLEN
    # (00 00 FF FF) was removed as the tail.
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data + b"\x00"


def _fragmented_bomb(n: int) -> bytes:
    data = _zeros_deflated(n)
    third = len(data) // 3
    zero = b"\0\0\0\0"
    return (frame(BINARY, data[:third], fin=False, rsv=RSV1, key=zero) + frame(CONT, data[third:2 * third], fin=False, key=zero)
            + frame(CONT, data[2 * third:], key=zero))


def _zeros_deflated(n: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    out = []
    left = n
    while left:
        k = min(left, len(chunk))
        out.append(co.compress(chunk[:k]))
        left -= k
    out.append(co.flush(zlib.Z_SYNC_FLUSH))
    return strip_tail(b"".join(out))


# ---- permessage-deflate response checks (RFC 7692 §7.1) -----------------------------------------------------
def parse_extensions(values: list) -> list:
    """Sec-WebSocket-Extensions values → [(name, {param: value or None})] (quoted values unquoted)."""
    out = []
    for value in values:
        for ext in value.split(","):
            ext = ext.strip()
            if not ext:
                continue
            items = [p.strip() for p in ext.split(";")]
            params = {}
            dup = False
            for p in items[1:]:
                if "=" in p:
                    k, v = (s.strip() for s in p.split("=", 1))
                    v = v.strip('"')
                else:
                    k, v = p, None
                if k in params:
                    dup = True
                params[k] = v
            if dup:
                params["__duplicate__"] = None
            out.append((items[0], params))
    return out


def offer_params(offer: str) -> dict:
    return parse_extensions([offer])[0][1]


def _smwb_included(bits: int) -> Callable[[dict], Optional[str]]:
    def check(headers: dict) -> Optional[str]:
        exts = parse_extensions(headers.get("sec-websocket-extensions", []))
        if len(exts) != 1 or exts[0][0] != "permessage-deflate":
            return f"expected permessage-deflate accepted, got {exts!r}"
        value = exts[0][1].get("server_max_window_bits", "absent")
        if value is None or value == "absent" or not value.isdigit() or not 8 <= int(value) <= bits:
            return (f"§7.1.2.1: response must include server_max_window_bits=8..{bits}, got {value} "
                    f"in {headers.get('sec-websocket-extensions')}")
        return None
    return check


def deflate_checker(offer: str) -> Callable[[dict], Optional[str]]:
    """A check of the 101's Sec-WebSocket-Extensions against one accepted offer (RFC 7692 §7.1)."""
    o = offer_params(offer)

    def check(headers: dict) -> Optional[str]:
        exts = parse_extensions(headers.get("sec-websocket-extensions", []))
        if len(exts) != 1 or exts[0][0] != "permessage-deflate":
            return f"expected exactly permessage-deflate accepted, got {exts!r}"
        r = exts[0][1]
        known = {"server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
                 "client_max_window_bits"}
        if set(r) - known:
            return f"unknown or duplicate response parameters {sorted(set(r) - known)}"
        for k in ("server_no_context_takeover", "client_no_context_takeover"):
            if k in r and r[k] is not None:
                return f"{k} must have no value"
        if "server_no_context_takeover" in o and "server_no_context_takeover" not in r:
            return "§7.1.1.1: offered server_no_context_takeover must be in the response"
        for k in ("server_max_window_bits", "client_max_window_bits"):
            if k in r:
                v = r[k]
                if v is None or not v.isdigit() or v.startswith("0") or not 8 <= int(v) <= 15:
                    return f"{k}={v!r} is not a value 8..15"
        if "client_max_window_bits" in r:
            if "client_max_window_bits" not in o:
                return "§7.1.2.2: client_max_window_bits in the response but not in the offer"
            if o["client_max_window_bits"] is not None and int(r["client_max_window_bits"]) > int(o["client_max_window_bits"]):
                return "§7.1.2.2: client_max_window_bits larger than offered"
        if "server_max_window_bits" in o:
            got = int(r.get("server_max_window_bits") or 15)
            if got > int(o["server_max_window_bits"]):
                return f"§7.1.2.1: server_max_window_bits {got} larger than offered {o['server_max_window_bits']}"
        return None

    return check
