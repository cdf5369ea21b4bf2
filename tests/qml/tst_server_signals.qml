// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServer signals with real clients (Qt's QML WebSocket): clientConnected, closed,
// serverError, connection counting, pause/resume, and the element's own change signals.
import QtQuick
import QtTest
import QtWebSockets as QtWS
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "ServerSignals"

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: clientComponent; QtWS.WebSocket { active: true } }
    Component { id: spyComponent; SignalSpy { } }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    function connectClient(server) {
        return createTemporaryObject(clientComponent, test, {url: server.url})
    }

    function test_clientConnected() {
        const s = createTemporaryObject(serverComponent, test)
        const connected = spy(s, "clientConnected")
        const count = spy(s, "connectionCountChanged")
        const c = connectClient(s)
        tryCompare(connected, "count", 1)
        tryCompare(c, "status", QtWS.WebSocket.Open)
        const socket = connected.signalArguments[0][0]
        verify(socket !== null)
        compare(socket.state, WebSocket.Connected)
        compare(s.connectionCount, 1)
        compare(count.count, 1)
        compare(s.connections.get(0), socket)
        // The client goes away: the server sees disconnected() and the count drops.
        const gone = spy(socket, "disconnected")
        c.active = false
        tryCompare(gone, "count", 1)
        tryCompare(s, "connectionCount", 0)
        compare(count.count, 2)
    }

    function test_messagesReachHandlers() {
        const s = createTemporaryObject(serverComponent, test)
        const connected = spy(s, "clientConnected")
        const c = connectClient(s)
        tryCompare(connected, "count", 1)
        const socket = connected.signalArguments[0][0]
        const texts = spy(socket, "textMessageReceived")
        const binaries = spy(socket, "binaryMessageReceived")
        tryCompare(c, "status", QtWS.WebSocket.Open)
        for (let i = 0; i < 100; ++i)
            c.sendTextMessage("message " + i)
        const bytes = new Uint8Array([0, 1, 2, 254, 255])
        c.sendBinaryMessage(bytes.buffer)
        tryCompare(texts, "count", 100)
        tryCompare(binaries, "count", 1)
        for (let i = 0; i < 100; ++i)
            compare(texts.signalArguments[i][0], "message " + i) // in order, none lost
        const received = new Uint8Array(binaries.signalArguments[0][0])
        compare(Array.from(received), [0, 1, 2, 254, 255])
    }

    // One handler on the server for every connection: textMessageReceived / binaryMessageReceived after the
    // socket's own signal, with the socket; clientDisconnected after its disconnected(), out of `connections`.
    Component {
        id: echoComponent
        WebSocketServer {
            property var order: []
            onClientConnected: socket => {
                socket.textMessageReceived.connect(message => order.push("socket:" + message))
                socket.disconnected.connect(() => order.push("socket:disconnected"))
            }
            onTextMessageReceived: (socket, message) => {
                order.push("server:" + message)
                socket.sendTextMessage("echo " + message)
            }
            onBinaryMessageReceived: (socket, message) => socket.sendBinaryMessage(message)
            onClientDisconnected: socket => order.push("server:disconnected:" + socket.closeCode + ":" + connectionCount)
        }
    }
    function test_serverLevelMessageSignals() {
        const s = createTemporaryObject(echoComponent, test)
        const a = connectClient(s), b = connectClient(s)
        tryCompare(s, "connectionCount", 2)
        tryCompare(a, "status", QtWS.WebSocket.Open)
        tryCompare(b, "status", QtWS.WebSocket.Open)
        const texts = spy(s, "textMessageReceived")
        const fromA = [], fromB = []
        a.textMessageReceived.connect(m => fromA.push(m))
        b.textMessageReceived.connect(m => fromB.push(m))
        a.sendTextMessage("from a")
        tryCompare(texts, "count", 1)
        b.sendTextMessage("from b")
        tryCompare(texts, "count", 2)
        tryCompare(fromA, "length", 1)
        tryCompare(fromB, "length", 1)
        compare(fromA[0], "echo from a") // each echo went back on its own socket
        compare(fromB[0], "echo from b")
        verify(texts.signalArguments[0][0] !== texts.signalArguments[1][0])
        const open = [s.connections.get(0), s.connections.get(1)]
        verify(open.includes(texts.signalArguments[0][0]) && open.includes(texts.signalArguments[1][0]))
        compare(s.order, ["socket:from a", "server:from a", "socket:from b", "server:from b"])

        const binaries = spy(s, "binaryMessageReceived")
        const echoed = []
        a.binaryMessageReceived.connect(m => echoed.push(Array.from(new Uint8Array(m))))
        a.sendBinaryMessage(new Uint8Array([9, 0, 255]).buffer)
        tryCompare(echoed, "length", 1)
        compare(echoed[0], [9, 0, 255])
        compare(binaries.count, 1)
        compare(Array.from(new Uint8Array(binaries.signalArguments[0][1])), [9, 0, 255])

        const gone = spy(s, "clientDisconnected")
        s.order = []
        a.active = false
        tryCompare(gone, "count", 1)
        compare(s.order, ["socket:disconnected", "server:disconnected:1000:1"])
    }

    function test_closedSignal() {
        const s = createTemporaryObject(serverComponent, test)
        const closed = spy(s, "closed")
        const listening = spy(s, "listeningChanged")
        s.close()
        compare(closed.count, 1)
        compare(listening.count, 1)
        s.close() // already closed: nothing more
        compare(closed.count, 1)
    }

    function test_serverErrorOnBadValue() {
        const s = createTemporaryObject(serverComponent, test)
        const errors = spy(s, "serverError")
        const errorChanged = spy(s, "errorChanged")
        s.port = 65536
        compare(errors.count, 1)
        compare(errorChanged.count, 1)
        compare(s.error, WebSocketServer.InvalidValueError)
    }

    function test_acceptError() {
        // An independent client (python3-websockets) connects while this process has no file
        // descriptor left: the engine's accept() fails with EMFILE and reports acceptError, the
        // element sets AcceptError; with descriptors back, the same client gets in.
        const s = createTemporaryObject(serverComponent, test)
        const acceptErrors = spy(s, "acceptError")
        const connected = spy(s, "clientConnected")
        const script = "import asyncio, sys, time, websockets\n"
            + "time.sleep(0.5)\n"
            + "async def main():\n"
            + "    async with websockets.connect(sys.argv[1], open_timeout=20) as ws:\n"
            + "        await asyncio.sleep(10)\n"
            + "asyncio.run(main())\n"
        verify(Helper.startProcess("/usr/bin/python3", ["-c", script, s.url.toString()]))
        verify(Helper.exhaustOpenFiles())
        tryVerify(() => acceptErrors.count >= 1, 10000, "no acceptError")
        Helper.restoreOpenFiles()
        compare(acceptErrors.signalArguments[0][0], 4) // QAbstractSocket::SocketResourceError
        compare(s.error, WebSocketServer.AcceptError)
        verify(s.errorString.length > 0)
        verify(s.listening) // not a server failure
        tryCompare(connected, "count", 1, 10000)
    }

    function test_pausedServerTakesNoClient() {
        const s = createTemporaryObject(serverComponent, test)
        const connected = spy(s, "clientConnected")
        s.accepting = false
        const c = connectClient(s)
        wait(500)
        compare(connected.count, 0)
        verify(c.status !== QtWS.WebSocket.Open)
        s.accepting = true
        tryCompare(connected, "count", 1, 5000)
        tryCompare(c, "status", QtWS.WebSocket.Open)
    }

    function test_urlAndListeningSignals() {
        const s = createTemporaryObject(serverComponent, test)
        const url = spy(s, "urlChanged")
        const listening = spy(s, "listeningChanged")
        s.listen = false
        tryCompare(listening, "count", 1)
        compare(url.count, 1)
        s.listen = true
        tryCompare(listening, "count", 2)
        compare(url.count, 2)
    }
}
