// SPDX-License-Identifier: BSD-3-Clause
// ConnectionList: the open connections of a WebSocketServer, one row each, updated live.
import QtQuick
import QtQuick.Controls
import QuickWebSockets

ListView {
    id: root

    /// The server whose `connections` model is shown.
    property WebSocketServer server
    /// The WebSocket of the current row (click or arrow keys), or null.
    readonly property WebSocket currentSocket: server && currentIndex >= 0
                                               ? server.connections.get(currentIndex) : null
    /// Text shown when there are no connections.
    property string placeholderText: qsTr("No connections")

    model: server ? server.connections : null
    clip: true
    focus: true
    currentIndex: -1
    ScrollBar.vertical: ScrollBar { }

    delegate: ItemDelegate {
        id: row

        required property int index
        required property WebSocket socket
        required property string peerAddress
        required property int peerPort
        required property string path
        required property string subprotocol
        required property bool compressed
        // The counters are read from the socket, not from the model's five counter roles: the socket's
        // countersChanged fires once per refresh, so the line below is formatted once, not once per role.

        /// "1.5 KiB"-style sizes.
        function formatBytes(bytes: real): string {
            if (bytes < 1024)
                return bytes + " B"
            if (bytes < 1024 * 1024)
                return (bytes / 1024).toFixed(1) + " KiB"
            if (bytes < 1024 * 1024 * 1024)
                return (bytes / 1024 / 1024).toFixed(1) + " MiB"
            return (bytes / 1024 / 1024 / 1024).toFixed(1) + " GiB"
        }

        width: ListView.view.width
        highlighted: ListView.isCurrentItem
        onClicked: ListView.view.currentIndex = index

        contentItem: Column {
            spacing: 2
            Label {
                width: parent.width
                elide: Text.ElideRight
                font.bold: true
                text: row.peerAddress + ":" + row.peerPort + "  " + row.path
                      + (row.subprotocol.length > 0 ? "  [" + row.subprotocol + "]" : "")
                      + (row.compressed ? "  deflate" : "")
            }
            Label {
                width: parent.width
                elide: Text.ElideRight
                opacity: 0.7
                text: row.socket ? qsTr("in %1 msgs / %2   out %3 msgs / %4%5")
                                   .arg(row.socket.messagesReceived).arg(row.formatBytes(row.socket.bytesReceived))
                                   .arg(row.socket.messagesSent).arg(row.formatBytes(row.socket.bytesSent))
                                   .arg(row.socket.roundTripTime >= 0
                                        ? qsTr("   rtt %1 ms").arg(row.socket.roundTripTime.toFixed(1)) : "")
                                 : ""
            }
        }
    }

    Label {
        anchors.centerIn: parent
        visible: root.count === 0
        text: root.placeholderText
        opacity: 0.6
    }
}
