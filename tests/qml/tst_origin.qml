// SPDX-License-Identifier: BSD-3-Clause
// Origin checks: the allowedOrigins list (answered on the engine thread) and a QML handler
// (asked through the engine-thread → GUI-thread bridge).
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "Origin"

    Component { id: serverComponent; WebSocketServer { } }
    Component {
        id: handlerServerComponent
        WebSocketServer {
            property var seen: []
            property var refuse: []
            onOriginAuthenticationRequired: authenticator => {
                seen = seen.concat([authenticator.origin])
                if (refuse.indexOf(authenticator.origin) >= 0)
                    authenticator.allowed = false
            }
        }
    }
    Component { id: clientComponent; TestClient { } }
    Component { id: spyComponent; SignalSpy { } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    function client(server, origin) {
        const c = createTemporaryObject(clientComponent, test, {url: server.url, origin: origin})
        c.open()
        return c
    }
    function expectRefused(c) {
        tryVerify(() => c.errorString.length > 0 || c.finished, 5000)
        verify(!c.connected)
    }

    function test_emptyListAllowsAll() {
        const s = createTemporaryObject(serverComponent, test)
        const a = client(s, "https://anything.example")
        const b = client(s, "")
        tryCompare(a, "connected", true)
        tryCompare(b, "connected", true)
        tryCompare(s, "connectionCount", 2)
    }

    function test_allowList() {
        const s = createTemporaryObject(serverComponent, test,
                                        {allowedOrigins: ["https://good.example", "http://localhost:3000"]})
        const good = client(s, "https://good.example")
        const goodOtherCase = client(s, "HTTPS://GOOD.EXAMPLE")
        const local = client(s, "http://localhost:3000")
        const bad = client(s, "https://evil.example")
        const none = client(s, "")
        tryCompare(good, "connected", true)
        tryCompare(goodOtherCase, "connected", true)
        tryCompare(local, "connected", true)
        expectRefused(bad)
        expectRefused(none)
        compare(s.connectionCount, 3)
    }

    function test_allowListChangeAppliesToNewClients() {
        const s = createTemporaryObject(serverComponent, test)
        const before = client(s, "https://a.example")
        tryCompare(before, "connected", true)
        s.allowedOrigins = ["https://b.example"]
        const after = client(s, "https://a.example")
        expectRefused(after)
        verify(before.connected) // already open: untouched
    }

    function test_handlerDecides() {
        const s = createTemporaryObject(handlerServerComponent, test, {refuse: ["https://evil.example"]})
        const asked = spy(s, "originAuthenticationRequired")
        const good = client(s, "https://good.example")
        const bad = client(s, "https://evil.example")
        tryCompare(good, "connected", true)
        expectRefused(bad)
        tryCompare(asked, "count", 2)
        verify(s.seen.indexOf("https://good.example") >= 0)
        verify(s.seen.indexOf("https://evil.example") >= 0)
        compare(s.connectionCount, 1)
    }

    function test_listBeforeHandler() {
        // The list refuses first; the handler is asked only for origins the list let through.
        const s = createTemporaryObject(handlerServerComponent, test,
                                        {allowedOrigins: ["https://good.example"]})
        const good = client(s, "https://good.example")
        const bad = client(s, "https://other.example")
        tryCompare(good, "connected", true)
        expectRefused(bad)
        compare(s.seen, ["https://good.example"])
    }

    function test_manyHandshakesThroughTheBridge() {
        const s = createTemporaryObject(handlerServerComponent, test, {refuse: ["https://no.example"]})
        const clients = []
        for (let i = 0; i < 20; ++i)
            clients.push(client(s, i % 2 ? "https://no.example" : "https://yes.example"))
        tryCompare(s, "connectionCount", 10, 10000)
        for (let i = 0; i < 20; ++i) {
            if (i % 2)
                expectRefused(clients[i])
            else
                tryCompare(clients[i], "connected", true)
        }
    }

    function test_destroyWhileHandshakesWait() {
        // A server destroyed while engine threads wait for the QML handler must not deadlock.
        const s = createTemporaryObject(handlerServerComponent, test)
        const clients = []
        for (let i = 0; i < 5; ++i)
            clients.push(client(s, "https://x.example"))
        s.destroy()
        wait(200)
        for (let i = 0; i < 5; ++i)
            tryVerify(() => !clients[i].connected, 5000)
    }
}
