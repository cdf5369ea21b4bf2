// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServer properties: every default, a change of each, a refused value of each, restarts.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "ServerProperties"

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: idleComponent; WebSocketServer { listen: false } }
    Component { id: spyComponent; SignalSpy { } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    function portOf(url) {
        return Number(url.toString().split(":")[2])
    }
    function freePort() {
        const probe = createTemporaryObject(serverComponent, test)
        verify(probe.listening)
        const port = portOf(probe.url)
        probe.destroy()
        wait(0)
        return port
    }

    function test_defaults() {
        const s = createTemporaryObject(serverComponent, test)
        compare(s.host, "")
        compare(s.port, 0)
        compare(s.secureMode, WebSocketServer.NonSecureMode)
        compare(s.handshakeTimeout, 10000)
        compare(s.maxPendingConnections, 30)
        compare(s.serverName, "")
        compare(s.listen, true)
        compare(s.accepting, true)
        compare(s.supportedSubprotocols.length, 0)
        compare(s.compression, true)
        compare(s.maxMessageSize, 64 * 1024 * 1024)
        compare(s.allowedOrigins.length, 0)
        compare(s.certificate.toString(), "")
        compare(s.privateKey.toString(), "")
        compare(s.peerVerifyMode, WebSocketServer.VerifyNone)
        compare(s.caCertificates.toString(), "")
        compare(s.preSharedKeyIdentityHint, "")
        compare(s.certificateFingerprint, "")
        compare(s.error, WebSocketServer.NoError)
        compare(s.errorString, "")
        compare(s.connectionCount, 0)
        verify(s.connections !== null)
        compare(s.connections.count, 0)
        // listen defaults to true: listening as soon as the component is complete, on a chosen port.
        verify(s.listening)
        verify(s.url.toString().startsWith("ws://localhost:"), s.url)
        verify(portOf(s.url) > 0)
    }

    function test_notListeningBeforeComplete() {
        const s = createTemporaryObject(idleComponent, test)
        verify(!s.listening)
        compare(s.url.toString(), "")
        s.listen = true
        tryCompare(s, "listening", true)
        verify(portOf(s.url) > 0)
    }

    function test_change_data() {
        return [
            {tag: "host", value: "127.0.0.1"},
            {tag: "secureMode", value: WebSocketServer.SecureMode},
            {tag: "handshakeTimeout", value: 2500},
            {tag: "handshakeTimeout negative disables", prop: "handshakeTimeout", value: -1},
            {tag: "maxPendingConnections", value: 5},
            {tag: "serverName", value: "Kiosk/1.0"},
            {tag: "listen", value: true},
            {tag: "accepting", value: false},
            {tag: "supportedSubprotocols", value: ["chat", "v2.json"]},
            {tag: "compression", value: false},
            {tag: "maxMessageSize", value: 1024},
            {tag: "allowedOrigins", value: ["https://a.example", "http://localhost:3000"]},
            {tag: "certificate", value: "/nonexistent/cert.pem"},
            {tag: "privateKey", value: "file:///nonexistent/key.pem"},
            {tag: "peerVerifyMode", value: WebSocketServer.QueryPeer},
            {tag: "caCertificates", value: "/nonexistent/ca.pem"},
            {tag: "preSharedKeyIdentityHint", value: "kiosk"},
        ]
    }

    function test_change(data) {
        const prop = data.prop || data.tag
        const s = createTemporaryObject(idleComponent, test)
        const changed = spy(s, prop + "Changed")
        const errors = spy(s, "serverError")
        s[prop] = data.value
        compare(changed.count, 1)
        compare(JSON.stringify(s[prop]), JSON.stringify(data.value))
        s[prop] = data.value // the same value again: no signal
        compare(changed.count, 1)
        compare(errors.count, 0)
        compare(s.error, WebSocketServer.NoError)
    }

    function test_badValue_data() {
        return [
            {tag: "port above 65535", prop: "port", value: 70000},
            {tag: "negative port", prop: "port", value: -1},
            {tag: "host not an address", prop: "host", value: "not an address"},
            {tag: "secureMode not a mode", prop: "secureMode", value: 7},
            {tag: "handshakeTimeout zero", prop: "handshakeTimeout", value: 0},
            {tag: "maxPendingConnections zero", prop: "maxPendingConnections", value: 0},
            {tag: "maxPendingConnections negative", prop: "maxPendingConnections", value: -3},
            {tag: "serverName with CRLF", prop: "serverName", value: "a\r\nX-Evil: 1"},
            {tag: "subprotocol with a space", prop: "supportedSubprotocols", value: ["bad token"]},
            {tag: "empty subprotocol", prop: "supportedSubprotocols", value: ["chat", ""]},
            {tag: "maxMessageSize zero", prop: "maxMessageSize", value: 0},
            {tag: "maxMessageSize fractional", prop: "maxMessageSize", value: 1.5},
            {tag: "maxMessageSize NaN", prop: "maxMessageSize", value: NaN},
            {tag: "empty origin", prop: "allowedOrigins", value: ["https://ok.example", ""]},
            {tag: "certificate over http", prop: "certificate", value: "http://example.com/cert.pem"},
            {tag: "privateKey over https", prop: "privateKey", value: "https://example.com/key.pem"},
            {tag: "peerVerifyMode not a mode", prop: "peerVerifyMode", value: 9},
            {tag: "caCertificates over ftp", prop: "caCertificates", value: "ftp://example.com/ca.pem"},
            {tag: "identity hint too long", prop: "preSharedKeyIdentityHint", value: "h".repeat(129)},
        ]
    }

    function test_badValue(data) {
        const s = createTemporaryObject(serverComponent, test)
        verify(s.listening)
        const before = JSON.stringify(s[data.prop])
        const changed = spy(s, data.prop + "Changed")
        const errors = spy(s, "serverError")
        s[data.prop] = data.value
        // Refused: the old value stays, the error says which property, the element stays usable.
        compare(changed.count, 0)
        compare(JSON.stringify(s[data.prop]), before)
        compare(s.error, WebSocketServer.InvalidValueError)
        verify(s.errorString.startsWith(data.prop + ":"), s.errorString)
        compare(errors.count, 1)
        compare(errors.signalArguments[0][0], WebSocketServer.InvalidValueError)
        verify(s.listening)
    }

    function test_portChangeRestarts() {
        const s = createTemporaryObject(serverComponent, test)
        const first = portOf(s.url)
        const closed = spy(s, "closed")
        const port = freePort()
        s.port = port
        tryCompare(s, "listening", true)
        tryVerify(() => portOf(s.url) === port)
        verify(portOf(s.url) !== first)
        compare(closed.count, 1)
    }

    function test_hostChangeRestarts() {
        const s = createTemporaryObject(serverComponent, test)
        compare(s.url.toString().split(":")[1], "//localhost")
        s.host = "127.0.0.1"
        tryVerify(() => s.url.toString().startsWith("ws://127.0.0.1:"), 5000, String(s.url))
        verify(s.listening)
        s.host = "::1"
        tryVerify(() => s.url.toString().startsWith("ws://[::1]:"), 5000, String(s.url))
    }

    function test_changesInOneTurnRestartOnce() {
        const port = freePort()
        const s = createTemporaryObject(serverComponent, test)
        const closed = spy(s, "closed")
        const listening = spy(s, "listeningChanged")
        s.host = "127.0.0.1"
        s.port = port
        s.host = "localhost"
        wait(50)
        compare(closed.count, 1)
        compare(listening.count, 2) // false, then true
        verify(s.listening)
    }

    function test_portInUse() {
        const s = createTemporaryObject(serverComponent, test)
        const errors = spy(s, "serverError")
        const busy = Helper.occupiedPort()
        verify(busy > 0)
        s.port = busy
        tryCompare(s, "error", WebSocketServer.ListenError)
        verify(!s.listening)
        compare(s.url.toString(), "")
        verify(s.errorString.indexOf(String(busy)) >= 0, s.errorString)
        compare(errors.count, 1)
        compare(s.port, busy)
        // Still usable: a good port listens again and clears the error.
        s.port = 0
        tryCompare(s, "listening", true)
        compare(s.error, WebSocketServer.NoError)
        compare(s.errorString, "")
    }

    function test_listenFalseAndClose() {
        const s = createTemporaryObject(serverComponent, test)
        const closed = spy(s, "closed")
        s.listen = false
        tryCompare(s, "listening", false)
        compare(closed.count, 1)
        compare(s.url.toString(), "")
        s.listen = true
        tryCompare(s, "listening", true)
        s.close()
        compare(s.listening, false)
        compare(s.listen, false)
        compare(closed.count, 2)
    }

    function test_pauseResumeAccepting() {
        const s = createTemporaryObject(serverComponent, test)
        const accepting = spy(s, "acceptingChanged")
        s.pauseAccepting()
        compare(s.accepting, false)
        s.resumeAccepting()
        compare(s.accepting, true)
        compare(accepting.count, 2)
        verify(s.listening)
    }
}
