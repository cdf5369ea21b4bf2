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
        required property real messagesReceived
        required property real messagesSent
        required property real bytesReceived
        required property real bytesSent
        required property real roundTripTime

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
                text: qsTr("in %1 msgs / %2   out %3 msgs / %4%5")
                      .arg(row.messagesReceived).arg(row.formatBytes(row.bytesReceived))
                      .arg(row.messagesSent).arg(row.formatBytes(row.bytesSent))
                      .arg(row.roundTripTime >= 0 ? qsTr("   rtt %1 ms").arg(row.roundTripTime.toFixed(1)) : "")
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
