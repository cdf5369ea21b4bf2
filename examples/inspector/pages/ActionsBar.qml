// SPDX-License-Identifier: BSD-3-Clause
// ActionsBar: send text or binary (hex/base64) to one connection or all, ping, close with code+reason,
// kick (abort: the TCP connection dropped without a closing handshake).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "Format.js" as Format

Frame {
    id: bar
    required property Store store
    property real cid: -1
    property string status: ""
    readonly property bool open: { bar.store.revision; const r = bar.store.row(bar.cid); return !!r && !r.closed }
    readonly property alias payloadField: payload
    readonly property alias formatBox: format
    readonly property alias codeBox: code
    readonly property alias reasonField: reason

    /// The payload as typed: a string (text) or an ArrayBuffer (hex/base64), or null when it does not parse.
    function payloadValue(): var {
        if (format.currentIndex === 0) return payload.text
        const buffer = format.currentIndex === 1 ? Format.parseHex(payload.text) : Format.parseBase64(payload.text)
        status = buffer ? "" : qsTr("not valid %1").arg(format.currentText)
        return buffer
    }
    function send(toAll: bool): bool {
        const v = payloadValue()
        if (v === null) return false
        if (typeof v === "string")
            toAll ? store.sendTextToAll(v) : store.sendText(cid, v)
        else
            toAll ? store.sendBinaryToAll(v) : store.sendBinary(cid, v)
        status = toAll ? qsTr("sent to all open connections") : qsTr("sent")
        return true
    }
    function closeSelected() { store.closeConnection(cid, code.value, reason.text) }
    function kickSelected() { store.kick(cid) }

    ColumnLayout {
        anchors.fill: parent
        RowLayout {
            Layout.fillWidth: true
            ComboBox { id: format; model: [qsTr("Text"), qsTr("Hex"), qsTr("Base64")] }
            TextField {
                id: payload
                Layout.fillWidth: true
                placeholderText: format.currentIndex === 0 ? qsTr("Message text (Enter sends)") : format.currentIndex === 1
                                 ? qsTr("Bytes in hex: de ad be ef") : qsTr("Bytes in base64: 3q2+7w==")
                onAccepted: bar.send(false)
            }
            Button { text: qsTr("Send"); enabled: bar.open; onClicked: bar.send(false) }
            Button { text: qsTr("Send to all"); enabled: bar.store.openCount > 0; onClicked: bar.send(true) }
            Label { text: bar.status; opacity: 0.8 }
        }
        RowLayout {
            Layout.fillWidth: true
            Button { text: qsTr("Ping"); enabled: bar.open; onClicked: bar.store.ping(bar.cid) }
            Label { text: qsTr("Close code") }
            NumberBox { id: code; objectName: "closeCode"; from: 1000; to: 4999; value: 1000 }
            TextField { id: reason; Layout.fillWidth: true; placeholderText: qsTr("Reason (≤ 123 bytes)"); maximumLength: 123 }
            Button { text: qsTr("Close"); enabled: bar.open; onClicked: bar.closeSelected() }
            Button {
                text: qsTr("Kick")
                enabled: bar.open
                onClicked: bar.kickSelected()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Drop the TCP connection at once, without a close frame (abort)")
            }
        }
    }
}
