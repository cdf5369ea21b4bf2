// SPDX-License-Identifier: BSD-3-Clause
// The broadcast example: each tick(), one live value goes to every connected client.
import QuickWebSockets

WebSocketServer {
    id: server

    property int seq: 0

    // main.cpp's HTTP front door owns the public port and hands WebSocket upgrades to this element
    // (handleConnection), so the element itself does not listen.
    listen: false

    // Called by main.cpp every --interval ms (a C++ QTimer: this system's qmllint has no QtQml
    // type information for a QML Timer, see README.md).
    function tick() {
        server.seq += 1
        const now = Date.now()
        return server.broadcastTextMessage(JSON.stringify({
            seq: server.seq,
            value: Math.round(1000 * Math.sin(now / 1000)) / 10,
            time: new Date(now).toISOString(),
            clients: server.connectionCount
        }))
    }
}
