// SPDX-License-Identifier: BSD-3-Clause
// onHandshakeFailed: a refused origin (allowedOrigins) and a bad request (a plain HTTP GET), each with
// its reason, the client's address and port, and a specific text.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "HandshakeFailed"

    Component {
        id: serverComponent
        WebSocketServer {
            host: "127.0.0.1"
            property var failures: []
            onHandshakeFailed: (peerAddress, peerPort, reason, errorString) => {
                failures = failures.concat([{address: peerAddress, port: peerPort, reason: reason,
                                             text: errorString}])
            }
        }
    }
    Component { id: plainServerComponent; WebSocketServer { host: "127.0.0.1" } }
    Component { id: clientComponent; TestClient { } }

    function portOf(url) { return Number(/:(\d+)/.exec(url.toString().replace(/^\w+:/, ""))[1]) }

    function server(properties) {
        const s = createTemporaryObject(serverComponent, test, properties || {})
        tryCompare(s, "listening", true)
        return s
    }

    function test_refusedOrigin() {
        const s = server({allowedOrigins: ["https://good.example"]})
        const c = createTemporaryObject(clientComponent, test, {url: s.url, origin: "https://evil.example"})
        c.open()
        tryVerify(() => s.failures.length === 1, 20000)
        const f = s.failures[0]
        compare(f.reason, WebSocketServer.HandshakeOriginRefused)
        compare(f.address, "127.0.0.1")
        verify(f.port > 0 && f.port !== portOf(s.url), "the client's port, not the server's")
        verify(f.text.indexOf("https://evil.example") >= 0 && f.text.indexOf("403") >= 0, f.text)
        verify(!c.connected)

        const good = createTemporaryObject(clientComponent, test, {url: s.url, origin: "https://good.example"})
        good.open()
        tryCompare(good, "connected", true)
        compare(s.failures.length, 1)
    }

    function test_badRequest() {
        const s = server()
        const xhr = new XMLHttpRequest()   // a plain HTTP GET: no Upgrade header
        xhr.open("GET", "http://127.0.0.1:" + portOf(s.url) + "/")
        xhr.send()
        tryVerify(() => s.failures.length === 1, 20000)
        const f = s.failures[0]
        compare(f.reason, WebSocketServer.HandshakeBadRequest)
        compare(f.address, "127.0.0.1")
        verify(f.port > 0)
        verify(f.text.indexOf("HTTP 400") >= 0 && f.text.indexOf("upgrade") >= 0, f.text)
        tryVerify(() => xhr.readyState === XMLHttpRequest.DONE, 20000)
        compare(xhr.status, 400)
    }

    function test_enumValuesAreDistinct() {
        const values = [WebSocketServer.HandshakeBadRequest, WebSocketServer.HandshakeTimeout,
                        WebSocketServer.HandshakeOriginRefused, WebSocketServer.HandshakeTlsFailed,
                        WebSocketServer.HandshakeServerFull, WebSocketServer.HandshakeConnectionLost]
        compare(values, [0, 1, 2, 3, 4, 5])
        // The Error enum keeps its own TlsError next to HandshakeTlsFailed.
        verify(WebSocketServer.TlsError !== undefined)
    }

    function test_signalSpyConnection() {
        // Any connection (here a SignalSpy's) turns forwarding on, not only an onHandshakeFailed handler.
        const s = createTemporaryObject(plainServerComponent, test, {allowedOrigins: ["https://good.example"]})
        tryCompare(s, "listening", true)
        const spy = createTemporaryObject(spyComponent, test,
                                          {target: s, signalName: "handshakeFailed"})
        const c = createTemporaryObject(clientComponent, test, {url: s.url, origin: "https://evil.example"})
        c.open()
        spy.wait(20000)
        compare(spy.count, 1)
        compare(spy.signalArguments[0][2], WebSocketServer.HandshakeOriginRefused)
    }
    Component { id: spyComponent; SignalSpy { } }
}
