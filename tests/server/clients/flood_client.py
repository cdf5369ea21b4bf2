# SPDX-License-Identifier: BSD-3-Clause
# A fast flooding client (python3-websockets): sends COUNT binary messages of SIZE bytes as fast as TCP
# lets it, each starting with its 8-byte big-endian sequence number, then "done"; prints "sent COUNT".
import asyncio
import sys

import websockets


async def main(url, count, size):
    filler = bytes(size - 8)
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        for i in range(count):
            await ws.send(i.to_bytes(8, "big") + filler)
        await ws.send("done")
        print("sent %d" % count, flush=True)
        await ws.wait_closed()
    return 0


sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
