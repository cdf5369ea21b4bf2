# SPDX-License-Identifier: BSD-3-Clause
# python3-websockets echo check: sends COUNT text and COUNT binary messages of SIZE bytes, verifies every
# echo byte for byte, prints one JSON line {"extensions": …, "echoed": n}. Exit 1 on any mismatch.
import asyncio
import json
import os
import sys

import websockets


async def main(url, count, size, compress):
    async with websockets.connect(url, compression="deflate" if compress else None, max_size=None) as ws:
        extensions = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        echoed = 0
        for i in range(count):
            text = ("%d:" % i) + ("The quick brown fox jumps over the lazy dog. " * (size // 44 + 1))[:size]
            await ws.send(text)
            if await ws.recv() != text:
                print("text echo %d differs" % i, file=sys.stderr)
                return 1
            data = os.urandom(size)
            await ws.send(data)
            if await ws.recv() != data:
                print("binary echo %d differs" % i, file=sys.stderr)
                return 1
            echoed += 2
        print(json.dumps({"extensions": extensions, "echoed": echoed}))
    return 0


sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "deflate")))
