// SPDX-License-Identifier: BSD-3-Clause
// broadcastTextMessage / broadcastBinaryMessage to 50 real clients (Qt's QML WebSocket).
import QtQuick
import QtTest
import QtWebSockets as QtWS
import QuickWebSockets

TestCase {
    id: test
    name: "Broadcast"

    readonly property int clientCount: 50

    // Default settings: a burst of 50 clients is more than maxPendingConnections (30), yet the
    // element takes each one as it arrives, so none is refused.
    Component { id: serverComponent; WebSocketServer { } }
    Component {
        id: clientComponent
        QtWS.WebSocket {
            property var texts: []
            property var binaries: []
            active: true
            onTextMessageReceived: message => texts = texts.concat([message])
            onBinaryMessageReceived: message => binaries = binaries.concat([new Uint8Array(message).length])
        }
    }

    function startClients(s) {
        const clients = []
        for (let i = 0; i < clientCount; ++i)
            clients.push(createTemporaryObject(clientComponent, test, {url: s.url}))
        tryCompare(s, "connectionCount", clientCount, 20000)
        for (let i = 0; i < clientCount; ++i)
            tryCompare(clients[i], "status", QtWS.WebSocket.Open)
        return clients
    }

    function test_broadcastToFifty() {
        const s = createTemporaryObject(serverComponent, test)
        const clients = startClients(s)
        compare(s.broadcastTextMessage("first"), clientCount)
        compare(s.broadcastTextMessage("second"), clientCount)
        compare(s.broadcastBinaryMessage(new Uint8Array(1000).buffer), clientCount)
        for (let i = 0; i < clientCount; ++i) {
            tryCompare(clients[i], "texts", ["first", "second"], 10000)
            tryCompare(clients[i], "binaries", [1000], 10000)
        }
    }

    function test_broadcastSkipsDepartedClients() {
        const s = createTemporaryObject(serverComponent, test)
        const clients = startClients(s)
        for (let i = 0; i < 10; ++i)
            clients[i].active = false
        tryCompare(s, "connectionCount", clientCount - 10, 10000)
        compare(s.broadcastTextMessage("to the rest"), clientCount - 10)
        for (let i = 10; i < clientCount; ++i)
            tryCompare(clients[i], "texts", ["to the rest"], 10000)
        for (let i = 0; i < 10; ++i)
            compare(clients[i].texts.length, 0)
    }

    function test_broadcastWithNoClients() {
        const s = createTemporaryObject(serverComponent, test)
        compare(s.broadcastTextMessage("nobody"), 0)
        compare(s.broadcastBinaryMessage(new ArrayBuffer(4)), 0)
    }
}
