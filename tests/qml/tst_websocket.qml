// SPDX-License-Identifier: BSD-3-Clause
// The WebSocket handle: every property, method and signal, against a real QWebSocket client.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "WebSocket"

    Component { id: serverComponent; WebSocketServer { supportedSubprotocols: ["chat.v2", "chat.v1"] } }
    Component { id: clientComponent; TestClient { } }
    Component { id: spyComponent; SignalSpy { } }
    Component { id: holderComponent; QtObject { property QtObject ref } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    // A server, a connected client, and the server's WebSocket for it.
    function setup(clientProperties) {
        const s = createTemporaryObject(serverComponent, test)
        const connected = spy(s, "clientConnected")
        const props = Object.assign({url: s.url + "/chat/room1?x=1"}, clientProperties || {})
        const c = createTemporaryObject(clientComponent, test, props)
        c.open()
        tryCompare(connected, "count", 1)
        tryCompare(c, "connected", true)
        return {server: s, client: c, socket: connected.signalArguments[0][0]}
    }

    function test_handshakeProperties() {
        const t = setup({origin: "https://app.example", subprotocols: ["chat.v1", "chat.v2"]})
        const w = t.socket
        verify(w.id > 0)
        // "localhost" may resolve to either loopback; an IPv4 peer is never shown as ::ffff:127.0.0.1
        verify(w.peerAddress === "127.0.0.1" || w.peerAddress === "::1", w.peerAddress)
        verify(w.peerPort > 0 && w.peerPort < 65536)
        compare(w.origin, "https://app.example")
        compare(w.path, "/chat/room1")
        verify(w.requestUrl.toString().indexOf("/chat/room1?x=1") >= 0, w.requestUrl)
        compare(w.headers["origin"], "https://app.example")
        compare(w.headers["upgrade"].toLowerCase(), "websocket")
        verify(w.headers["sec-websocket-key"].length > 0)
        compare(w.subprotocol, "chat.v2") // the server's preference among the client's offers
        compare(t.client.subprotocol, "chat.v2")
        compare(w.compressed, false) // Qt's client offers no permessage-deflate
        compare(w.state, WebSocket.Connected)
        const age = Date.now() - w.connectedAt.getTime()
        verify(age >= 0 && age < 10000, age)
        compare(w.closeCode, 0)
        compare(w.closeReason, "")
    }

    function test_idsAreDistinct() {
        const a = setup()
        const b = setup()
        verify(a.socket.id !== b.socket.id)
    }

    function test_sendAndCounters() {
        const t = setup()
        const w = t.socket
        const counters = spy(w, "countersChanged")
        compare(w.sendTextMessage("héllo"), 6)
        compare(w.sendBinaryMessage(new Uint8Array([1, 2, 3]).buffer), 3)
        tryCompare(t.client, "received", ["héllo"])
        tryCompare(t.client, "binaryCount", 1)
        t.client.sendText("abc")
        t.client.sendText("defg")
        tryCompare(w, "messagesReceived", 2)
        tryCompare(w, "messagesSent", 2)
        compare(w.bytesReceived, 7)
        compare(w.bytesSent, 9)
        tryVerify(() => counters.count > 0, 2000) // the model's timer told bindings (≤ 10 Hz)
    }

    function test_pingPong() {
        const t = setup()
        const w = t.socket
        const pongs = spy(w, "pong")
        compare(w.roundTripTime, -1)
        w.ping()
        tryCompare(pongs, "count", 1)
        verify(pongs.signalArguments[0][0] >= 0)
        tryVerify(() => w.roundTripTime >= 0, 2000)
    }

    function test_closeWithCodeAndReason() {
        const t = setup()
        const w = t.socket
        const gone = spy(w, "disconnected")
        const state = spy(w, "stateChanged")
        w.close(4001, "bye now")
        tryCompare(t.client, "finished", true)
        compare(t.client.closeCode, 4001)
        compare(t.client.closeReason, "bye now")
        tryCompare(gone, "count", 1)
        verify(state.count >= 1)
        tryCompare(t.server, "connectionCount", 0)
    }

    function test_clientClose() {
        const t = setup()
        const w = t.socket
        let code = -1, reason = "", stateAtEnd = -1, lateSend = 0
        w.disconnected.connect(() => {
            code = w.closeCode
            reason = w.closeReason
            stateAtEnd = w.state
            lateSend = w.sendTextMessage("too late")
        })
        t.client.close(1000, "done")
        tryCompare(t.server, "connectionCount", 0)
        compare(code, 1000)
        compare(reason, "done")
        compare(stateAtEnd, WebSocket.Unconnected)
        compare(lateSend, -1)
    }

    function test_objectIsDeletedAfterDisconnect() {
        const t = setup()
        const holder = createTemporaryObject(holderComponent, test, {ref: t.socket})
        verify(holder.ref !== null)
        t.client.abort()
        tryCompare(t.server, "connectionCount", 0)
        tryVerify(() => holder.ref === null, 2000) // deleteLater after the model dropped it
    }

    function test_badCloseCode_data() {
        return [
            {tag: "1005 is reserved", code: 1005, reason: ""},
            {tag: "1006 is reserved", code: 1006, reason: ""},
            {tag: "999 is out of range", code: 999, reason: ""},
            {tag: "5000 is out of range", code: 5000, reason: ""},
            {tag: "reason over 123 bytes", code: 1000, reason: "x".repeat(124)},
        ]
    }

    function test_badCloseCode(data) {
        const t = setup()
        let threw = false
        try {
            t.socket.close(data.code, data.reason)
        } catch (e) {
            threw = e instanceof RangeError
        }
        verify(threw)
        compare(t.socket.state, WebSocket.Connected) // nothing happened
    }

    function test_pingPayloadTooLong() {
        const t = setup()
        let threw = false
        try {
            t.socket.ping(new Uint8Array(126).buffer)
        } catch (e) {
            threw = e instanceof RangeError
        }
        verify(threw)
    }
}
