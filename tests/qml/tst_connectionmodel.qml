// SPDX-License-Identifier: BSD-3-Clause
// The connections model: rows appear and disappear with clients, roles match the sockets, and
// counters refresh at a bounded rate (dataChanged for counter roles only, never per message).
import QtQuick
import QtTest
import QuickWebSockets
import QwsTest

TestCase {
    id: test
    name: "ConnectionModel"

    Component { id: serverComponent; WebSocketServer { } }
    Component { id: clientComponent; TestClient { } }
    Component { id: spyComponent; SignalSpy { } }
    // SignalSpy sees dataChanged without its roles argument (a default argument); a handler sees it.
    Component {
        id: rolesRecorder
        Connections {
            property var changes: []
            function onDataChanged(topLeft, bottomRight, roles) {
                changes = changes.concat([{first: topLeft.row, last: bottomRight.row, roles: roles}])
            }
        }
    }
    // A view-side probe: a delegate per row, reading roles as a view would.
    Component {
        id: repeaterComponent
        Repeater {
            delegate: Item {
                required property int index
                required property WebSocket socket
                required property string peerAddress
                required property string origin
                required property string path
                required property real messagesReceived
                required property int state
            }
        }
    }

    function spy(target, signalName) {
        return createTemporaryObject(spyComponent, test, {target: target, signalName: signalName})
    }
    function client(server, path, origin) {
        const c = createTemporaryObject(clientComponent, test, {url: server.url + path, origin: origin || ""})
        c.open()
        return c
    }

    function test_rowsFollowClients() {
        const s = createTemporaryObject(serverComponent, test)
        const m = s.connections
        const inserted = spy(m, "rowsInserted")
        const removed = spy(m, "rowsRemoved")
        const view = createTemporaryObject(repeaterComponent, test, {model: m})
        const a = client(s, "/a", "https://a.example")
        tryCompare(m, "count", 1)
        const b = client(s, "/b", "https://b.example")
        tryCompare(m, "count", 2)
        compare(inserted.count, 2)
        compare(view.count, 2)
        compare(view.itemAt(0).path, "/a")
        compare(view.itemAt(0).origin, "https://a.example")
        compare(view.itemAt(1).path, "/b")
        compare(view.itemAt(1).socket, m.get(1))
        compare(view.itemAt(1).state, WebSocket.Connected)
        compare(m.indexOf(m.get(1)), 1)
        compare(m.get(5), null)

        a.close(1000, "")
        tryCompare(m, "count", 1)
        compare(removed.count, 1)
        compare(view.count, 1)
        compare(view.itemAt(0).path, "/b") // the right row went
        b.abort()
        tryCompare(m, "count", 0)
        compare(view.count, 0)
        compare(s.connectionCount, 0)
    }

    readonly property var counterRoles: [ConnectionModel.MessagesReceivedRole, ConnectionModel.MessagesSentRole,
                                         ConnectionModel.BytesReceivedRole, ConnectionModel.BytesSentRole,
                                         ConnectionModel.RoundTripTimeRole]

    function test_countersAreCoalesced() {
        const s = createTemporaryObject(serverComponent, test)
        const m = s.connections
        const c = client(s, "/flood")
        tryCompare(m, "count", 1)
        const view = createTemporaryObject(repeaterComponent, test, {model: m})
        const recorder = createTemporaryObject(rolesRecorder, test, {target: m})
        const socketCounters = spy(m.get(0), "countersChanged") // the socket's NOTIFY rides the same timer
        const start = Date.now()
        for (let i = 0; i < 2000; ++i)
            c.sendText("m" + i)
        tryCompare(view.itemAt(0), "messagesReceived", 2000, 10000)
        wait(250) // let one more refresh pass with nothing new
        const elapsed = Date.now() - start
        const changes = recorder.changes
        // One change per 100 ms refresh at most (coarse timer: ±5%, plus slack), not one per message.
        verify(changes.length >= 1)
        verify(changes.length <= Math.ceil(elapsed / 90) + 2, changes.length + " in " + elapsed + " ms")
        for (let i = 0; i < changes.length; ++i)
            compare(changes[i].roles, counterRoles) // the counter roles only
        verify(socketCounters.count >= 1)
        verify(socketCounters.count <= Math.ceil(elapsed / 90) + 2, socketCounters.count + " in " + elapsed + " ms")
        const after = changes.length
        wait(350) // idle: no refresh emits anything
        compare(recorder.changes.length, after)
    }

    function test_onlyChangedRowsRefresh() {
        const s = createTemporaryObject(serverComponent, test)
        const m = s.connections
        const quiet = client(s, "/quiet")
        tryCompare(m, "count", 1)
        const busy = client(s, "/busy")
        tryCompare(m, "count", 2)
        wait(250)
        const recorder = createTemporaryObject(rolesRecorder, test, {target: m})
        busy.sendText("hello")
        tryVerify(() => recorder.changes.length > 0, 2000)
        wait(250)
        for (let i = 0; i < recorder.changes.length; ++i) {
            compare(recorder.changes[i].first, 1)
            compare(recorder.changes[i].last, 1)
        }
        compare(m.get(1).path, "/busy")
    }

    function test_refreshInterval() {
        const s = createTemporaryObject(serverComponent, test)
        compare(s.connections.refreshInterval, 100)
        s.connections.refreshInterval = 10 // faster than 10 Hz is raised to 10 Hz
        compare(s.connections.refreshInterval, 100)
        s.connections.refreshInterval = 500
        compare(s.connections.refreshInterval, 500)
    }
}
