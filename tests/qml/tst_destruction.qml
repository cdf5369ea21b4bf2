// SPDX-License-Identifier: BSD-3-Clause
// Destroying the element with clients connected closes every client with 1001 (Going Away);
// restarts do too. Nothing crashes when handles outlive their connection.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "Destruction"

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: clientComponent; TestClient { } }
    Component { id: holderComponent; QtObject { property QtObject ref } }

    function clients(server, n) {
        const list = []
        for (let i = 0; i < n; ++i) {
            const c = createTemporaryObject(clientComponent, test, {url: server.url})
            c.open()
            list.push(c)
        }
        tryCompare(server, "connectionCount", n, 10000)
        return list
    }

    function test_destroyClosesWith1001() {
        const s = serverComponent.createObject(test)
        const list = clients(s, 5)
        const holder = createTemporaryObject(holderComponent, test, {ref: s.connections.get(0)})
        let ended = 0
        s.clientDisconnected.connect(() => ++ended)
        s.destroy()
        for (let i = 0; i < list.length; ++i) {
            tryCompare(list[i], "finished", true, 5000)
            compare(list[i].closeCode, 1001)
        }
        compare(holder.ref, null) // the handles went with the server
        compare(ended, 0) // as documented: no clientDisconnected from an element being destroyed
    }

    function test_closeClosesWith1001() {
        const s = createTemporaryObject(serverComponent, test)
        const list = clients(s, 3)
        let ended = 0
        s.clientDisconnected.connect(() => ++ended)
        s.close()
        for (let i = 0; i < list.length; ++i) {
            tryCompare(list[i], "finished", true, 5000)
            compare(list[i].closeCode, 1001)
        }
        tryCompare(s, "connectionCount", 0)
        compare(ended, 3) // close() is not destruction: each socket's end is reported
    }

    function test_restartClosesWith1001() {
        const s = createTemporaryObject(serverComponent, test)
        const list = clients(s, 2)
        s.host = "127.0.0.1"
        for (let i = 0; i < list.length; ++i) {
            tryCompare(list[i], "finished", true, 5000)
            compare(list[i].closeCode, 1001)
        }
        tryCompare(s, "listening", true)
        tryCompare(s, "connectionCount", 0)
        // And the restarted server takes clients again.
        clients(s, 1)
    }

    function test_secureModeSwitchDropsClients() {
        const s = createTemporaryObject(serverComponent, test)
        const list = clients(s, 2)
        let disconnected = 0
        for (let i = 0; i < 2; ++i)
            s.connections.get(i).disconnected.connect(() => ++disconnected)
        s.secureMode = WebSocketServer.SecureMode
        for (let i = 0; i < list.length; ++i) {
            tryCompare(list[i], "finished", true, 5000)
            compare(list[i].closeCode, 1001)
        }
        tryCompare(s, "connectionCount", 0)
        compare(disconnected, 2) // the handles reported their end before going
        verify(s.url.toString().startsWith("wss://"))
    }
}
