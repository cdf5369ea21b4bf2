// SPDX-License-Identifier: BSD-3-Clause
// The inspector driven by real clients: rows appear, UI sends reach the client and are logged with their
// size, a UI close reaches the client with its code and reason, export writes valid JSON Lines, echo mode.
import QtQuick
import QtTest
import QtWebSockets
import InspectorTest

TestCase {
    id: test
    name: "Inspector"

    property var win: null
    property var received: []
    property var receivedBinary: []

    WebSocket {
        id: qmlClient
        active: false
        onTextMessageReceived: message => test.received = test.received.concat([message])
        onBinaryMessageReceived: message => test.receivedBinary = test.receivedBinary.concat([message])
    }
    TestClient { id: qtClient }

    function initTestCase() {
        const component = Qt.createComponent(Qt.resolvedUrl("../../examples/inspector/Main.qml"))
        verify(component.status === Component.Ready, component.errorString())
        win = component.createObject(null, { initialPort: 0, fileIO: Files })
        verify(win)
        tryVerify(() => win.server.listening, 5000)
        verify(win.serverUrl.startsWith("ws://"))
    }
    function cleanupTestCase() {
        qmlClient.active = false
        if (win) win.destroy()
    }

    function openRow(path) {
        return win.store.rows.find(r => !r.closed && r.path === path)
    }

    function test_1_rowsAppear() {
        qmlClient.url = win.serverUrl + "/qml-client"
        qmlClient.active = true
        tryCompare(qmlClient, "status", WebSocket.Open, 5000)
        tryVerify(() => openRow("/qml-client") !== undefined, 5000)
        const page = win.connectionsPage
        tryVerify(() => page.table.count === 1, 3000)
        compare(page.sortedRows[0].path, "/qml-client")
        compare(win.store.openCount, 1)
        // the event log recorded the connect
        tryVerify(() => { for (let i = 0; i < win.store.events.count; ++i)
                              if (win.store.events.get(i).kind === "connect") return true
                          return false })
    }

    function test_2_sendFromUi() {
        const row = openRow("/qml-client")
        verify(row)
        const page = win.connectionsPage
        page.selectedId = row.cid
        const actions = page.messages.actions
        actions.formatBox.currentIndex = 0
        actions.payloadField.text = "héllo inspector" // 16 bytes in UTF-8
        verify(actions.send(false))
        tryVerify(() => test.received.indexOf("héllo inspector") >= 0, 5000)
        const items = win.store.log(row.cid).items
        const last = items[items.length - 1]
        compare(last.direction, "out")
        compare(last.opcode, "text")
        compare(last.size, 16)
        tryVerify(() => page.messages.list.count >= 1)
        // binary from hex
        actions.formatBox.currentIndex = 1
        actions.payloadField.text = "de ad be ef 00"
        verify(actions.send(false))
        tryVerify(() => test.receivedBinary.length === 1, 5000)
        compare(test.receivedBinary[0].byteLength, 5)
        compare(new Uint8Array(test.receivedBinary[0])[0], 0xde)
        const logged = win.store.log(row.cid).items
        compare(logged[logged.length - 1].size, 5)
        compare(logged[logged.length - 1].opcode, "binary")
        actions.formatBox.currentIndex = 0
    }

    function test_3_incomingAndEcho() {
        const row = openRow("/qml-client")
        win.store.autoReply = "echo"
        qmlClient.sendTextMessage('{"hello": [1, 2]}')
        tryVerify(() => test.received.indexOf('{"hello": [1, 2]}') >= 0, 5000)
        const items = win.store.log(row.cid).items
        verify(items.some(e => e.direction === "in" && e.size === 17))
        compare(win.connectionsPage.messages.detail(items.find(e => e.direction === "in")), '{\n  "hello": [\n    1,\n    2\n  ]\n}')
        win.store.autoReply = "none"
    }

    function test_4_exportJsonLines() {
        const row = openRow("/qml-client")
        const messages = win.connectionsPage.messages
        win.connectionsPage.selectedId = row.cid
        const path = Files.tempPath("tst-inspector-" + Date.now() + ".jsonl")
        messages.exportPathField.text = path
        verify(messages.exportLog().startsWith("exported"), messages.exportStatus)
        const lines = Files.readText(path).split("\n").filter(l => l.length > 0)
        compare(lines.length, win.store.log(row.cid).items.length)
        verify(lines.length >= 4)
        const parsed = lines.map(l => JSON.parse(l))
        verify(parsed.some(o => o.direction === "out" && o.text === "héllo inspector" && o.size === 16))
        verify(parsed.some(o => o.opcode === "binary" && o.hex === "de ad be ef 00"))
    }

    function test_5_closeFromUi() {
        qtClient.url = win.serverUrl + "/qt-client"
        qtClient.open()
        tryVerify(() => qtClient.connected, 5000)
        tryVerify(() => openRow("/qt-client") !== undefined, 5000)
        const row = openRow("/qt-client")
        const page = win.connectionsPage
        page.selectedId = row.cid
        const actions = page.messages.actions
        actions.codeBox.value = 4001
        actions.reasonField.text = "bye from the inspector"
        actions.closeSelected()
        tryCompare(qtClient, "closeCode", 4001, 5000)
        compare(qtClient.closeReason, "bye from the inspector")
        // the row stays, greyed, with its close code
        tryVerify(() => win.store.row(row.cid).closed, 5000)
        verify(win.store.row(row.cid).closeCode > 0)
        tryVerify(() => page.sortedRows.some(r => r.cid === row.cid && r.closed))
        tryCompare(win.store, "openCount", 1, 3000)
    }

    function test_6_ringBuffer() {
        const row = openRow("/qml-client")
        const page = win.connectionsPage
        page.selectedId = row.cid
        win.store.logCapacity = 5
        for (let i = 0; i < 12; ++i)
            qmlClient.sendTextMessage("burst " + i)
        tryVerify(() => win.store.log(row.cid).items.some(e => e.text === "burst 11"), 5000)
        compare(win.store.log(row.cid).items.length, 5)
        verify(win.store.log(row.cid).dropped >= 12 - 5)
        tryVerify(() => page.messages.log.dropped >= 7, 2000) // the page shows "N older messages dropped"
        page.messages.filterField.text = "burst 1"
        tryVerify(() => page.messages.entries.length === 2) // "burst 10", "burst 11"
        page.messages.filterField.text = ""
        win.store.logCapacity = 500
    }

    function test_7_sortAndRelay() {
        qtClient.url = win.serverUrl + "/a-second"
        qtClient.open()
        tryVerify(() => openRow("/a-second") !== undefined, 5000)
        const page = win.connectionsPage
        page.sortKey = "cid"; page.ascending = true
        page.sortBy("path")
        tryVerify(() => page.sortedRows.filter(r => !r.closed)[0].path === "/a-second")
        page.sortBy("path") // again: descending
        tryVerify(() => page.sortedRows.filter(r => !r.closed)[0].path === "/qml-client")
        win.store.autoReply = "relay"
        qtClient.sendText("to everyone else")
        tryVerify(() => test.received.indexOf("to everyone else") >= 0, 5000)
        win.store.autoReply = "none"
        qtClient.close(1000, "")
        tryVerify(() => openRow("/a-second") === undefined, 5000)
    }

    function test_8_handshakeFailureInEventLog() {
        win.store.allowedOrigins = ["https://good.example"]
        const before = win.store.events.count
        const bad = Qt.createQmlObject('import InspectorTest; TestClient { origin: "https://evil.example" }', test)
        bad.url = win.serverUrl + "/refused"
        bad.open()
        tryVerify(() => bad.finished, 5000)
        verify(!bad.connected)
        let found = false
        tryVerify(() => { for (let i = before; i < win.store.events.count; ++i)
                              if (win.store.events.get(i).kind === "handshake") return true
                          return false }, 5000)
        win.store.allowedOrigins = []
        bad.destroy()
    }

    function test_9_secureModeShowsFingerprint() {
        win.server.secureMode = 0 // WebSocketServer.SecureMode
        tryVerify(() => win.server.listening && win.serverUrl.startsWith("wss://"), 15000)
        verify(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(win.server.certificateFingerprint), win.server.certificateFingerprint)
        win.server.secureMode = 1
        tryVerify(() => win.serverUrl.startsWith("ws://"), 5000)
    }

    function test_9z_pingAndKick() {
        const c = Qt.createQmlObject('import InspectorTest; TestClient {}', test)
        c.url = win.serverUrl + "/kicked"
        c.open()
        tryVerify(() => openRow("/kicked") !== undefined, 5000)
        const row = openRow("/kicked")
        win.connectionsPage.selectedId = row.cid
        win.store.ping(row.cid)
        tryVerify(() => win.store.log(row.cid).items.some(e => e.opcode === "pong" && e.direction === "in"), 5000)
        tryVerify(() => win.store.row(row.cid).rtt >= 0, 3000)
        win.store.kick(row.cid)
        tryCompare(c, "closeCode", 1008, 5000)
        tryVerify(() => win.store.row(row.cid).closed, 5000)
        c.destroy()
    }
}
