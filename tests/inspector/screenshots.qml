// SPDX-License-Identifier: BSD-3-Clause
// Not a ctest: takes docs/screenshots/*.png of the inspector with live clients (see docs/inspector.md).
//   QT_QPA_PLATFORM=offscreen QT_QUICK_CONTROLS_STYLE=Fusion QWS_SHOTS=docs/screenshots \
//     build/tests/inspector/tst_inspector -import build/imports -input tests/inspector/screenshots.qml
import QtQuick
import QtTest
import QtWebSockets
import InspectorTest

TestCase {
    id: test
    name: "Screenshots"
    property var win: null
    property string dir: Files.readText("/proc/self/environ").split("\0").filter(s => s.startsWith("QWS_SHOTS="))
                         .map(s => s.substring(10))[0] || "/tmp"
    property int tick: 0

    WebSocket { id: a; active: false }
    WebSocket { id: b; active: false }
    WebSocket { id: c; active: false }
    WebSocket { id: d; active: false }
    TestClient { id: chat; origin: "https://example.org"; subprotocols: ["chat"] }
    TestClient { id: intruder; origin: "https://evil.example" }
    RawClient { id: plainHttp; request: "GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n" } // not an upgrade
    Timer {
        id: traffic
        interval: 50; repeat: true
        onTriggered: {
            test.tick++
            a.sendTextMessage(JSON.stringify({ sensor: "temp", value: 20 + Math.sin(test.tick / 10), seq: test.tick }))
            if (test.tick % 3 === 0) b.sendTextMessage("status ok #" + test.tick)
            if (test.tick % 7 === 0) chat.sendBinary("\u0001\u0002binary frame " + test.tick)
        }
    }

    function shot(name) {
        wait(300)
        let done = false
        win.contentItem.parent.grabToImage(r => { r.saveToFile(dir + "/" + name); done = true })
        tryVerify(() => done, 5000)
    }

    function test_shots() {
        const component = Qt.createComponent(Qt.resolvedUrl("../../examples/inspector/Main.qml"))
        verify(component.status === Component.Ready, component.errorString())
        win = component.createObject(null, { initialPort: 0, fileIO: Files, width: 1400, height: 860 })
        tryVerify(() => win.server.listening, 5000)
        win.server.supportedSubprotocols = ["chat", "json"]
        tryVerify(() => win.server.listening, 5000)
        a.url = win.serverUrl + "/sensors"; a.active = true
        b.url = win.serverUrl + "/status"; b.active = true
        c.url = win.serverUrl + "/leaving"; c.active = true
        d.url = win.serverUrl + "/kicked"; d.active = true
        chat.url = win.serverUrl + "/chat"; chat.open()
        tryVerify(() => win.store.openCount === 5, 5000)
        win.server.allowedOrigins = ["https://example.org"] // new clients only; the open ones stay
        intruder.url = win.serverUrl + "/admin"; intruder.open()
        tryVerify(() => intruder.finished, 5000)
        plainHttp.url = win.serverUrl; plainHttp.open()
        tryVerify(() => plainHttp.ended, 5000)
        win.store.autoReply = "echo"
        traffic.start()
        wait(2500)
        c.active = false
        win.store.kick(win.store.rows.find(r => r.path === "/kicked").cid) // closed 1006: no close frame
        wait(2000)
        win.store.openRows().forEach(r => win.store.ping(r.cid)) // fills the RTT column
        wait(2000)
        shot("server.png")
        win.tabs.currentIndex = 1
        const rows = win.store.rows
        win.connectionsPage.selectedId = rows.find(r => r.path === "/sensors").cid
        win.connectionsPage.messages.selectedEntry = 3
        shot("connections.png")
        win.connectionsPage.selectedId = rows.find(r => r.path === "/chat").cid
        const entries = win.connectionsPage.messages.entries
        win.connectionsPage.messages.selectedEntry = entries.findIndex(e => e.opcode === "binary")
        shot("binary.png")
        win.tabs.currentIndex = 2
        shot("events.png")
        win.tabs.currentIndex = 3
        shot("charts.png")
        win.theme = "dark"
        win.tabs.currentIndex = 1
        win.connectionsPage.selectedId = rows.find(r => r.path === "/sensors").cid
        win.connectionsPage.messages.selectedEntry = 2
        shot("connections-dark.png")
        traffic.stop()
    }
}
