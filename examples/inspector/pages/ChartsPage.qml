// SPDX-License-Identifier: BSD-3-Clause
// ChartsPage: messages/s, bytes/s (received) and open connections over the last minutes.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "Format.js" as Format

Pane {
    id: page
    required property Store store
    ColumnLayout {
        anchors.fill: parent
        spacing: 10
        LineChart {
            Layout.fillWidth: true; Layout.fillHeight: true
            title: qsTr("Messages/s in"); samples: page.store.msgRate
        }
        LineChart {
            Layout.fillWidth: true; Layout.fillHeight: true
            title: qsTr("Bytes/s in"); samples: page.store.byteRate; lineColor: "#27ae60"
            format: v => Format.bytes(v)
        }
        LineChart {
            Layout.fillWidth: true; Layout.fillHeight: true
            title: qsTr("Open connections"); samples: page.store.connSamples; lineColor: "#c77c00"
        }
    }
}
