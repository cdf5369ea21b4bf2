// SPDX-License-Identifier: BSD-3-Clause
// ConnectionsPage: the live connections table (sortable; closed rows greyed for a while) above the
// selected connection's message log and actions.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "Format.js" as Format

SplitView {
    id: page
    orientation: Qt.Vertical
    required property Store store
    property var fileIO: null

    /// The selected connection's id, or -1.
    property real selectedId: -1
    property string sortKey: "cid"
    property bool ascending: true
    readonly property alias table: table
    readonly property alias messages: messages
    readonly property var columns: [
        { key: "cid", title: "#", width: 50 }, { key: "peer", title: qsTr("Peer"), width: 170 },
        { key: "path", title: qsTr("Path"), width: 110 }, { key: "origin", title: qsTr("Origin"), width: 150 },
        { key: "subprotocol", title: qsTr("Subprot."), width: 90 }, { key: "compressed", title: qsTr("Deflate"), width: 85 },
        { key: "sinceMs", title: qsTr("Since"), width: 110 }, { key: "msgIn", title: qsTr("Msgs in"), width: 90 },
        { key: "msgOut", title: qsTr("Msgs out"), width: 100 }, { key: "bytesIn", title: qsTr("Bytes in"), width: 95 },
        { key: "bytesOut", title: qsTr("Bytes out"), width: 95 }, { key: "rtt", title: qsTr("RTT"), width: 90 },
        { key: "state", title: qsTr("State"), width: 190 }
    ]
    readonly property var sortedRows: {
        page.store.revision // re-sort on every refresh
        const k = sortKey, dir = ascending ? 1 : -1
        const order = (a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : a.cid - b.cid) * dir
        const rows = page.store.rows.slice()
        for (let i = 1; i < rows.length; ++i) // often in order already (by #, as connected): no sort then
            if (order(rows[i - 1], rows[i]) > 0) return rows.sort(order)
        return rows
    }

    // The table's model holds only each line's connection id, updated in place where the order changed
    // (so the scroll position survives refreshes, and 1,000 rows cost no 1,000 model writes a refresh);
    // the visible delegates read their row from the store on each revision.
    onSortedRowsChanged: syncTable()
    property var shownIds: []
    function syncTable() {
        const rows = sortedRows
        for (let i = 0; i < rows.length; ++i) {
            const cid = rows[i].cid
            if (i < tableModel.count) {
                if (shownIds[i] !== cid) tableModel.setProperty(i, "rowId", cid)
            } else {
                tableModel.append({ rowId: cid })
            }
            shownIds[i] = cid
        }
        if (tableModel.count > rows.length) {
            tableModel.remove(rows.length, tableModel.count - rows.length)
            shownIds.length = rows.length
        }
    }
    ListModel { id: tableModel }

    function cell(r: var, key: string): string {
        switch (key) {
        case "compressed": return r.compressed ? "yes" : "no"
        case "sinceMs": return Format.time(r.sinceMs).substring(0, 8)
        case "bytesIn": case "bytesOut": return Format.bytes(r[key])
        case "rtt": return r.rtt >= 0 ? r.rtt.toFixed(1) + " ms" : "—"
        case "path": return r.path || "/"
        case "state": return r.closed ? qsTr("closed %1%2").arg(r.closeCode).arg(r.closeReason ? " " + r.closeReason : "") : r.state
        }
        return String(r[key])
    }
    function moveSelection(step: int) {
        const rows = sortedRows
        if (rows.length === 0) return
        const at = rows.findIndex(r => r.cid === selectedId)
        const next = Math.max(0, Math.min(rows.length - 1, at < 0 ? 0 : at + step))
        selectedId = rows[next].cid
        table.positionViewAtIndex(next, ListView.Contain)
    }
    function sortBy(key: string) {
        if (sortKey === key) ascending = !ascending
        else { sortKey = key; ascending = true }
    }

    ColumnLayout {
        SplitView.preferredHeight: page.height * 0.42
        SplitView.minimumHeight: 120
        spacing: 0
        Flickable {
            Layout.fillWidth: true
            Layout.fillHeight: true
            contentWidth: headerRow.width
            flickableDirection: Flickable.HorizontalFlick
            clip: true
            ScrollBar.horizontal: ScrollBar {}
            Column {
                height: parent.height
                Row {
                    id: headerRow
                    Repeater {
                        model: page.columns
                        delegate: Button {
                            required property var modelData
                            width: modelData.width
                            flat: true
                            font.bold: true
                            text: modelData.title + (page.sortKey === modelData.key ? (page.ascending ? " ▲" : " ▼") : "")
                            onClicked: page.sortBy(modelData.key)
                        }
                    }
                }
                ListView {
                    id: table
                    objectName: "connectionTable"
                    width: headerRow.width
                    height: parent.height - headerRow.height
                    clip: true
                    model: tableModel
                    keyNavigationEnabled: false
                    focus: true
                    ScrollBar.vertical: ScrollBar {}
                    Keys.onDownPressed: page.moveSelection(1)
                    Keys.onUpPressed: page.moveSelection(-1)
                    Label {
                        anchors.centerIn: parent
                        visible: table.count === 0
                        text: qsTr("No connections yet — connect a client to the URL on the Server tab")
                        opacity: 0.6
                    }
                    delegate: Rectangle {
                        id: rowItem
                        required property real rowId
                        required property int index
                        // The row object is updated in place: re-read (and re-render) on each revision.
                        readonly property int revision: page.store.revision
                        readonly property var modelData: { revision; return page.store.row(rowId) || ({ cid: rowId }) }
                        width: headerRow.width
                        height: 30
                        color: modelData.cid === page.selectedId ? palette.highlight
                               : index % 2 ? palette.alternateBase : palette.base
                        opacity: { revision; return modelData.closed ? 0.45 : 1 }
                        Row {
                            anchors.verticalCenter: parent.verticalCenter
                            Repeater {
                                model: page.columns
                                delegate: Label {
                                    required property var modelData
                                    width: modelData.width
                                    leftPadding: 6
                                    elide: Text.ElideRight
                                    font.strikeout: { rowItem.revision; return !!rowItem.modelData.closed && modelData.key === "peer" }
                                    color: rowItem.modelData.cid === page.selectedId ? palette.highlightedText : palette.text
                                    text: { rowItem.revision; return page.cell(rowItem.modelData, modelData.key) }
                                }
                            }
                        }
                        MouseArea {
                            anchors.fill: parent
                            onClicked: { page.selectedId = rowItem.modelData.cid; table.forceActiveFocus() }
                        }
                    }
                }
            }
        }
    }

    MessagesPage {
        id: messages
        SplitView.fillHeight: true
        store: page.store
        fileIO: page.fileIO
        cid: page.selectedId
    }
}
