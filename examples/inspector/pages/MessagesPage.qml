// SPDX-License-Identifier: BSD-3-Clause
// MessagesPage: one connection's bounded message log (filter, follow, pretty JSON, hex + ASCII), export
// as JSON Lines, and the actions bar.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "Format.js" as Format

Pane {
    id: page
    required property Store store
    property var fileIO: null
    /// The connection shown, or -1.
    property real cid: -1
    property string exportStatus: ""
    property int selectedEntry: -1
    readonly property alias filterField: filterField
    readonly property alias exportPathField: exportPath
    readonly property alias actions: actions
    readonly property alias list: list

    readonly property var row: { page.store.revision; return page.store.row(page.cid) }
    readonly property var log: { page.store.logRevision; return page.cid >= 0 ? page.store.log(page.cid) : { items: [], dropped: 0 } }
    /// While "Follow" is off the list is frozen (a snapshot), so reading it is not disturbed by new traffic.
    property var frozen: null
    readonly property var entries: {
        if (!follow.checked && frozen) return frozen
        const f = filterField.text.toLowerCase()
        const items = page.log.items
        return f ? items.filter(e => (e.text + " " + e.hex + " " + e.opcode).toLowerCase().includes(f)) : items.slice()
    }
    onEntriesChanged: if (follow.checked) Qt.callLater(list.positionViewAtEnd)
    onCidChanged: selectedEntry = -1

    function exportLog(): string {
        if (!fileIO) return exportStatus = qsTr("no file helper")
        const error = fileIO.writeText(exportPath.text, store.jsonLines(cid))
        exportStatus = error ? qsTr("export failed: %1").arg(error)
                             : qsTr("exported %1 message(s) to %2").arg(log.items.length).arg(exportPath.text)
        return exportStatus
    }
    function detail(e: var): string {
        if (!e) return ""
        if (e.bytes) return Format.hexDump(new Uint8Array(e.bytes)) + (e.size > e.bytes.byteLength ? "\n… " + (e.size - e.bytes.byteLength) + qsTr(" more bytes") : "")
        return Format.prettyJson(e.text) || e.text
    }

    ColumnLayout {
        anchors.fill: parent
        RowLayout {
            Layout.fillWidth: true
            Label {
                font.bold: true
                text: page.row ? qsTr("#%1 %2%3").arg(page.row.cid).arg(page.row.peer).arg(page.row.closed ? qsTr(" (closed)") : "")
                               : qsTr("Select a connection")
            }
            Label {
                objectName: "droppedLabel"
                visible: page.log.dropped > 0
                color: "#c77c00"
                text: qsTr("%1 older messages dropped").arg(page.log.dropped)
            }
            Item { Layout.fillWidth: true }
            TextField { id: filterField; placeholderText: qsTr("Filter…"); Layout.preferredWidth: 200 }
            CheckBox {
                id: follow
                text: checked ? qsTr("Follow") : qsTr("Follow (paused)")
                checked: true
                onToggled: page.frozen = checked ? null : page.entries
            }
            Button { text: qsTr("Clear"); enabled: page.cid >= 0; onClicked: page.store.clearLog(page.cid) }
            TextField {
                id: exportPath
                Layout.preferredWidth: 260
                text: page.fileIO ? page.fileIO.tempPath("qws-connection-" + Math.max(0, page.cid) + ".jsonl") : ""
            }
            Button { text: qsTr("Export JSONL"); enabled: page.cid >= 0; onClicked: page.exportLog() }
        }
        Label { visible: text.length > 0; text: page.exportStatus; opacity: 0.8 }
        SplitView {
            Layout.fillWidth: true
            Layout.fillHeight: true
            ListView {
                id: list
                objectName: "messageList"
                SplitView.fillWidth: true
                clip: true
                model: page.entries
                ScrollBar.vertical: ScrollBar {}
                delegate: ItemDelegate {
                    id: entryItem
                    required property var modelData
                    required property int index
                    width: ListView.view.width
                    highlighted: page.selectedEntry === index
                    onClicked: page.selectedEntry = index
                    contentItem: Label {
                        elide: Text.ElideRight
                        font.family: "monospace"
                        color: entryItem.modelData.direction === "in" ? palette.text : "#2f80ed"
                        text: (entryItem.modelData.direction === "in" ? "← " : "→ ") + Format.time(entryItem.modelData.time)
                              + "  " + (entryItem.modelData.opcode + "      ").substring(0, 7) + ("        " + Format.bytes(entryItem.modelData.size)).slice(-10)
                              + "  " + (entryItem.modelData.bytes ? entryItem.modelData.hex : entryItem.modelData.text.substring(0, 200).replace(/\n/g, " "))
                    }
                }
            }
            ScrollView {
                SplitView.preferredWidth: page.width * 0.45
                TextArea {
                    readOnly: true
                    font.family: "monospace"
                    wrapMode: page.entries[page.selectedEntry] && page.entries[page.selectedEntry].bytes ? TextEdit.NoWrap : TextEdit.WrapAnywhere
                    font.pixelSize: 14
                    placeholderText: qsTr("Click a message: pretty JSON or hex + ASCII")
                    text: page.detail(page.entries[page.selectedEntry])
                }
            }
        }
        ActionsBar {
            id: actions
            Layout.fillWidth: true
            store: page.store
            cid: page.cid
        }
    }
}
