// SPDX-License-Identifier: BSD-3-Clause
// EventsPage: the server's event log — listening, handshake failures with the client's address:port and
// the reason in plain words, connects and disconnects with close codes.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

Pane {
    id: page
    required property Store store
    readonly property alias list: list
    ColumnLayout {
        anchors.fill: parent
        RowLayout {
            Label { text: qsTr("%1 event(s)").arg(page.store.events.count); font.bold: true }
            Item { Layout.fillWidth: true }
            Button { text: qsTr("Clear"); onClicked: page.store.events.clear() }
        }
        ListView {
            id: list
            objectName: "eventList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: page.store.events
            ScrollBar.vertical: ScrollBar {}
            onCountChanged: Qt.callLater(positionViewAtEnd)
            delegate: Label {
                required property string time
                required property string kind
                required property string message
                width: ListView.view.width
                padding: 3
                wrapMode: Text.Wrap
                font.family: "monospace"
                color: kind === "handshake" || kind === "error" || kind === "accept" ? "#c0392b"
                     : kind === "disconnect" ? "#c77c00" : palette.text
                text: time + "  " + (kind + "          ").substring(0, 11) + " " + message
            }
        }
    }
}
