// SPDX-License-Identifier: BSD-3-Clause
// WebSocket.abort(): the TCP connection drops at once with no close frame; the handle reports 1006 once.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "WebSocketAbort"

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: rawComponent; RawClient { } }
    Component { id: clientComponent; TestClient { } }
    Component { id: spyComponent; SignalSpy { } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }

    function test_abortSendsNoCloseFrame() {
        const s = createTemporaryObject(serverComponent, test)
        tryVerify(() => s.listening)
        const connected = spy(s, "clientConnected")
        const c = createTemporaryObject(rawComponent, test, {url: s.url + "/aborted"})
        c.open()
        tryCompare(connected, "count", 1)
        tryCompare(c, "upgraded", true)
        const w = connected.signalArguments[0][0]
        w.sendTextMessage("before the abort")
        tryCompare(c, "opcodes", [1]) // the client reads frames: the text message arrived
        const disconnected = spy(w, "disconnected")
        const closed = spy(w, "closed")
        w.abort()
        // At once, before any event-loop turn: state, code and one disconnected().
        compare(w.state, WebSocket.Unconnected)
        compare(w.closeCode, 1006)
        compare(w.closeReason, "aborted")
        compare(disconnected.count, 1)
        compare(closed.count, 1)
        tryCompare(c, "ended", true, 10000)
        compare(c.closeFrameSeen, false)
        compare(c.opcodes, [1])
        compare(c.trailingBytes, 0)
        wait(100)
        compare(disconnected.count, 1) // never twice
        tryCompare(s.connections, "count", 0)
    }

    function test_abortWhileClosing() {
        // close() sent a close frame; abort() then drops the TCP without waiting for the client's reply.
        const s = createTemporaryObject(serverComponent, test)
        tryVerify(() => s.listening)
        const connected = spy(s, "clientConnected")
        const c = createTemporaryObject(rawComponent, test, {url: s.url + "/closing"})
        c.open()
        tryCompare(connected, "count", 1)
        const w = connected.signalArguments[0][0]
        const disconnected = spy(w, "disconnected")
        w.close(4000, "going")
        tryCompare(c, "closeFrameSeen", true) // the raw client never answers it
        compare(w.state, WebSocket.Closing)
        w.abort()
        compare(w.state, WebSocket.Unconnected)
        compare(w.closeCode, 1006)
        compare(disconnected.count, 1)
        tryCompare(c, "ended", true, 10000)
    }

    function test_abortAfterEndIsNoOp() {
        const s = createTemporaryObject(serverComponent, test)
        tryVerify(() => s.listening)
        const connected = spy(s, "clientConnected")
        const c = createTemporaryObject(clientComponent, test, {url: s.url + "/ended"})
        c.open()
        tryCompare(connected, "count", 1)
        const w = connected.signalArguments[0][0]
        const disconnected = spy(w, "disconnected")
        let code = -1
        w.disconnected.connect(() => { code = w.closeCode; w.abort() }) // abort() inside the handler
        c.close(4002, "client leaves")
        tryCompare(disconnected, "count", 1)
        compare(code, 4002) // the real close code is kept, not 1006
        wait(100)
        compare(disconnected.count, 1)
    }
}
