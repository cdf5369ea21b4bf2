// SPDX-License-Identifier: BSD-3-Clause
// MessageLog: a bounded, scrolling log of WebSocket messages; the oldest are dropped past maximumCount.
import QtQuick
import QtQuick.Controls
import QtQml.Models

Item {
    id: root

    /// How many messages are kept (at least 1); older ones are dropped and counted.
    property int maximumCount: 1000
    /// Messages currently kept.
    readonly property int count: messages.count
    /// How many messages were dropped because of maximumCount since the last clear().
    readonly property int droppedCount: internal.dropped
    /// Characters of a message's text kept for its preview.
    property int previewLength: 200
    /// Keep the newest message in view as messages arrive.
    property bool autoScroll: true
    /// The list view, for styling and scrolling.
    readonly property alias view: list

    /// Adds a message. direction: "in" or "out"; opcode: "text", "binary", "ping", "pong" or "close";
    /// text: the text (or a preview of a binary payload); size: the payload size in bytes.
    function append(direction: string, opcode: string, text: string, size: int) {
        messages.append({
            direction: direction,
            opcode: opcode,
            preview: text.length > previewLength ? text.substring(0, previewLength) + "…" : text,
            size: size,
            time: new Date().toLocaleTimeString(Qt.locale(), "hh:mm:ss.zzz")
        })
        trim()
        if (autoScroll)
            list.positionViewAtEnd()
    }

    /// The message at `index` (0 = oldest kept): {direction, opcode, preview, size, time}.
    function get(index: int): var {
        return messages.get(index)
    }

    /// Removes every message and resets droppedCount.
    function clear() {
        messages.clear()
        internal.dropped = 0
    }

    function trim() {
        const limit = Math.max(1, maximumCount)
        const excess = messages.count - limit
        if (excess > 0) {
            messages.remove(0, excess)
            internal.dropped += excess
        }
    }

    onMaximumCountChanged: trim()
    implicitWidth: 400
    implicitHeight: 300

    QtObject {
        id: internal
        property int dropped: 0
    }

    ListModel { id: messages }

    Label {
        id: droppedLabel
        anchors { left: parent.left; right: parent.right; top: parent.top }
        height: visible ? implicitHeight : 0
        visible: root.droppedCount > 0
        horizontalAlignment: Text.AlignHCenter
        opacity: 0.6
        text: qsTr("%1 older messages dropped").arg(root.droppedCount)
    }

    ListView {
        id: list
        anchors { left: parent.left; right: parent.right; top: droppedLabel.bottom; bottom: parent.bottom }
        model: messages
        clip: true
        ScrollBar.vertical: ScrollBar { }

        delegate: Label {
            required property string direction
            required property string opcode
            required property string preview
            required property int size
            required property string time

            width: ListView.view.width
            elide: Text.ElideRight
            font.family: "monospace"
            text: time + "  " + (direction === "in" ? "↓" : "↑") + " " + opcode + " (" + size + " B)  "
                  + preview
        }
    }
}
