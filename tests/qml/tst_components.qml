// SPDX-License-Identifier: BSD-3-Clause
// The module's QML components: ConnectionList on a live server, MessageLog's bound and drop count.
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "Components"
    width: 400
    height: 400
    when: windowShown
    visible: true // items under the test case take mouse clicks

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: clientComponent; TestClient { } }
    Component { id: listComponent; ConnectionList { width: 400; height: 300 } }
    Component { id: logComponent; MessageLog { width: 400; height: 300 } }

    function test_connectionListFollowsServer() {
        const s = createTemporaryObject(serverComponent, test)
        const list = createTemporaryObject(listComponent, test, {server: s})
        compare(list.count, 0)
        compare(list.currentSocket, null)
        const a = createTemporaryObject(clientComponent, test, {url: s.url + "/one"})
        const b = createTemporaryObject(clientComponent, test, {url: s.url + "/two"})
        a.open()
        b.open()
        tryCompare(list, "count", 2)
        list.currentIndex = 1
        compare(list.currentSocket, s.connections.get(1))
        a.close(1000, "")
        tryCompare(list, "count", 1)
        list.currentIndex = 0
        compare(list.currentSocket.path, s.connections.get(0).path)
        // A click selects a row.
        list.currentIndex = -1
        waitForRendering(list)
        mouseClick(list, 50, 10)
        compare(list.currentIndex, 0)
    }

    // The counters line follows the traffic (read from the socket, refreshed on its countersChanged): it is
    // formatted once per refresh, not once per changed counter role.
    function test_connectionListShowsCounters() {
        const s = createTemporaryObject(serverComponent, test)
        const list = createTemporaryObject(listComponent, test, {server: s})
        const a = createTemporaryObject(clientComponent, test, {url: s.url + "/counted"})
        a.open()
        tryCompare(list, "count", 1)
        waitForRendering(list)
        const line = () => list.itemAtIndex(0).contentItem.children[1]
        tryVerify(() => line().text.startsWith("in 0 msgs / 0 B"), 3000, line().text)
        let formatted = 0
        line().textChanged.connect(() => ++formatted)
        a.sendText("12345")
        a.sendText("abcde")
        a.sendText("xyz")
        tryVerify(() => line().text.startsWith("in 3 msgs / 13 B   out 0 msgs / 0 B"), 3000, line().text)
        compare(formatted, 1) // three messages in one 100 ms refresh: one new line
    }

    function test_messageLogAppends() {
        const log = createTemporaryObject(logComponent, test)
        log.append("in", "text", "hello", 5)
        log.append("out", "binary", "00 01", 2)
        compare(log.count, 2)
        compare(log.droppedCount, 0)
        compare(log.get(0).direction, "in")
        compare(log.get(0).preview, "hello")
        compare(log.get(1).opcode, "binary")
        compare(log.get(1).size, 2)
        verify(log.get(1).time.length > 0)
    }

    function test_messageLogIsBounded() {
        const log = createTemporaryObject(logComponent, test, {maximumCount: 10})
        for (let i = 0; i < 25; ++i)
            log.append("in", "text", "m" + i, 2)
        compare(log.count, 10)
        compare(log.droppedCount, 15)
        compare(log.get(0).preview, "m15") // the oldest kept
        compare(log.get(9).preview, "m24")
        log.maximumCount = 4 // shrinking drops at once
        compare(log.count, 4)
        compare(log.droppedCount, 21)
        compare(log.get(0).preview, "m21")
        log.clear()
        compare(log.count, 0)
        compare(log.droppedCount, 0)
    }

    function test_messageLogPreviewIsCut() {
        const log = createTemporaryObject(logComponent, test, {previewLength: 8})
        log.append("in", "text", "0123456789abcdef", 16)
        compare(log.get(0).preview, "01234567…")
        compare(log.get(0).size, 16)
    }
}
