// SPDX-License-Identifier: BSD-3-Clause
// The inspector driven by real clients: rows appear, UI sends reach the client and are logged with their
// size, a UI close reaches the client with its code and reason, export writes valid JSON Lines, echo mode,
// kick drops the TCP connection with no close frame, handshake failures logged with the client's address.
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
        // Codes are shown as digits, never locale-grouped ("1,000"), and typed ones are taken.
        compare(actions.codeBox.value, 1000)
        compare(actions.codeBox.displayText, "1000")
        compare(actions.codeBox.contentItem.text, "1000")
        win.tabs.currentIndex = 1
        win.requestActivate()
        tryVerify(() => win.active, 5000)
        actions.codeBox.contentItem.forceActiveFocus()
        actions.codeBox.contentItem.selectAll()
        KeyInput.type(win, "4001")
        KeyInput.press(win, Qt.Key_Return)
        tryCompare(actions.codeBox, "value", 4001, 3000)
        compare(actions.codeBox.contentItem.text, "4001")
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

    function eventsSince(before) {
        const out = []
        for (let i = before; i < win.store.events.count; ++i) out.push(win.store.events.get(i))
        return out
    }
    function peerText(client) { // how the event log writes a client's address:port
        const a = client.localAddress.replace(/^::ffff:/, "")
        return (a.indexOf(":") >= 0 ? "[" + a + "]" : a) + ":" + client.localPort
    }

    function test_8_handshakeFailuresInEventLog() {
        // A refused origin: the element's own allow-list refuses; the log names the client and why.
        win.server.allowedOrigins = ["https://good.example"]
        let before = win.store.events.count
        const bad = Qt.createQmlObject('import InspectorTest; RawClient { origin: "https://evil.example" }', test)
        bad.url = win.serverUrl + "/refused"
        bad.open()
        tryVerify(() => bad.ended, 5000)
        verify(bad.statusLine.startsWith("HTTP/1.1 403"), bad.statusLine)
        verify(bad.localPort > 0)
        const refused = "handshake failed from " + peerText(bad) + ": refused origin ("
        tryVerify(() => eventsSince(before).some(e => e.kind === "handshake" && e.message.startsWith(refused)), 5000,
                  refused + " in " + JSON.stringify(eventsSince(before)))
        verify(eventsSince(before).find(e => e.message.startsWith(refused)).message.indexOf("evil.example") > 0)
        // a good origin still gets in
        const good = Qt.createQmlObject('import InspectorTest; RawClient { origin: "https://good.example" }', test)
        good.url = win.serverUrl + "/allowed"
        good.open()
        tryCompare(good, "upgraded", true, 5000)
        win.server.allowedOrigins = []
        // A bad request: plain HTTP, no upgrade.
        before = win.store.events.count
        const plain = Qt.createQmlObject('import InspectorTest; RawClient {}', test)
        plain.request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        plain.url = win.serverUrl
        plain.open()
        tryVerify(() => plain.ended, 5000)
        verify(plain.statusLine.startsWith("HTTP/1.1 4"), plain.statusLine)
        const badRequest = "handshake failed from " + peerText(plain) + ": bad request ("
        tryVerify(() => eventsSince(before).some(e => e.kind === "handshake" && e.message.startsWith(badRequest)), 5000,
                  badRequest + " in " + JSON.stringify(eventsSince(before)))
        // the event page shows them
        win.tabs.currentIndex = 2
        tryVerify(() => win.eventsPage.list.count === win.store.events.count)
        bad.destroy(); good.destroy(); plain.destroy()
        tryVerify(() => openRow("/allowed") === undefined, 5000)
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
        // the client sees the TCP connection end with no close frame
        tryVerify(() => c.finished, 5000) // (Qt's client then reports its default code, 1000: no frame said otherwise)
        tryVerify(() => win.store.row(row.cid).closed, 5000)
        compare(win.store.row(row.cid).closeCode, 1006)
        verify(win.store.log(row.cid).items.some(e => e.opcode === "kick" && e.direction === "out"))
        // a bare TCP client shows exactly which frames arrived: the message, then nothing
        const raw = Qt.createQmlObject('import InspectorTest; RawClient {}', test)
        raw.url = win.serverUrl + "/kicked-raw"
        raw.open()
        tryVerify(() => openRow("/kicked-raw") !== undefined, 5000)
        const rawRow = openRow("/kicked-raw")
        win.store.sendText(rawRow.cid, "last words")
        tryCompare(raw, "opcodes", [1], 5000)
        win.connectionsPage.selectedId = rawRow.cid
        win.connectionsPage.messages.actions.kickSelected()
        tryVerify(() => raw.ended, 5000)
        compare(raw.closeFrameSeen, false)
        compare(raw.opcodes, [1])
        compare(raw.trailingBytes, 0)
        tryVerify(() => eventsSince(0).some(e => e.kind === "disconnect" && e.message.indexOf("#" + rawRow.cid + " ") === 0
                                             && e.message.indexOf("code 1006") > 0), 5000)
        raw.destroy()
        c.destroy()
    }
}
