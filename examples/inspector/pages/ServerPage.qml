// SPDX-License-Identifier: BSD-3-Clause
// ServerPage: every setting of the WebSocketServer, start/stop, pause/resume, its URL and error in words.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QuickWebSockets
import "Format.js" as Format

ScrollView {
    id: page
    required property WebSocketServer server
    required property Store store
    contentWidth: availableWidth

    function splitList(text: string): list<string> {
        return text.split(",").map(s => s.trim()).filter(s => s.length > 0)
    }

    ColumnLayout {
        width: page.availableWidth
        spacing: 12

        Frame {
            Layout.fillWidth: true
            Layout.margins: 12
            ColumnLayout {
                anchors.fill: parent
                RowLayout {
                    Label {
                        text: page.server.listening ? "●" : "○"
                        color: page.server.listening ? "#2e9d4b" : "#c0392b"
                        font.pixelSize: 28
                    }
                    TextField {
                        id: urlField
                        objectName: "urlField"
                        Layout.fillWidth: true
                        readOnly: true
                        selectByMouse: true
                        font.pixelSize: 22
                        text: page.server.listening ? page.server.url.toString() : qsTr("not listening")
                    }
                    Button {
                        text: qsTr("Copy URL")
                        enabled: page.server.listening
                        onClicked: { urlField.selectAll(); urlField.copy(); urlField.deselect() }
                    }
                    Button {
                        objectName: "startStop"
                        text: page.server.listen ? qsTr("Stop") : qsTr("Start")
                        onClicked: page.server.listen = !page.server.listen
                    }
                    Button {
                        text: page.server.accepting ? qsTr("Pause accepting") : qsTr("Resume accepting")
                        enabled: page.server.listening
                        onClicked: page.server.accepting ? page.server.pauseAccepting() : page.server.resumeAccepting()
                    }
                }
                Label {
                    Layout.fillWidth: true
                    visible: text.length > 0
                    wrapMode: Text.Wrap
                    color: "#c0392b"
                    font.pixelSize: 18
                    text: Format.errorWords(page.server.error, page.server.errorString)
                }
                Label {
                    Layout.fillWidth: true
                    visible: page.server.secureMode === WebSocketServer.SecureMode
                    wrapMode: Text.WrapAnywhere
                    text: qsTr("Certificate SHA-256: %1").arg(page.server.certificateFingerprint || "—")
                          + (page.server.certificate.toString() ? "" : qsTr("  (generated, self-signed for localhost)"))
                }
            }
        }

        GridLayout {
            Layout.margins: 12
            Layout.fillWidth: true
            columns: 2
            columnSpacing: 16
            rowSpacing: 8

            Label { text: qsTr("Host (empty = any)") }
            TextField {
                Layout.fillWidth: true
                text: page.server.host
                placeholderText: "0.0.0.0 / ::"
                onEditingFinished: page.server.host = text
            }
            Label { text: qsTr("Port (0 = any free)") }
            NumberBox {
                objectName: "portBox"
                from: 0; to: 65535
                value: page.server.port
                onValueModified: page.server.port = value
            }
            Label { text: qsTr("Secure (wss://)") }
            Switch {
                checked: page.server.secureMode === WebSocketServer.SecureMode
                onToggled: page.server.secureMode = checked ? WebSocketServer.SecureMode : WebSocketServer.NonSecureMode
            }
            Label { text: qsTr("Certificate file (PEM)") }
            TextField {
                Layout.fillWidth: true
                text: page.server.certificate.toString()
                placeholderText: qsTr("empty: generate a self-signed one")
                onEditingFinished: page.server.certificate = text
            }
            Label { text: qsTr("Private key file (PEM)") }
            TextField {
                Layout.fillWidth: true
                text: page.server.privateKey.toString()
                onEditingFinished: page.server.privateKey = text
            }
            Label { text: qsTr("Handshake timeout (ms, -1 = none)") }
            NumberBox {
                objectName: "handshakeTimeoutBox"
                from: -1; to: 600000; stepSize: 1000
                value: page.server.handshakeTimeout
                onValueModified: page.server.handshakeTimeout = value
            }
            Label { text: qsTr("Max pending connections") }
            NumberBox {
                objectName: "maxPendingBox"
                from: 1; to: 100000
                value: page.server.maxPendingConnections
                onValueModified: page.server.maxPendingConnections = value
            }
            Label { text: qsTr("Subprotocols (comma-separated)") }
            TextField {
                Layout.fillWidth: true
                text: page.server.supportedSubprotocols.join(", ")
                placeholderText: "chat, json"
                onEditingFinished: page.server.supportedSubprotocols = page.splitList(text)
            }
            Label { text: qsTr("Compression (permessage-deflate)") }
            Switch {
                checked: page.server.compression
                onToggled: page.server.compression = checked
            }
            Label { text: qsTr("Allowed origins (empty = all)") }
            TextField {
                Layout.fillWidth: true
                text: page.server.allowedOrigins.join(", ")
                placeholderText: "https://example.org"
                onEditingFinished: page.server.allowedOrigins = page.splitList(text)
            }
            Label { text: qsTr("Max message size (KiB)") }
            NumberBox {
                objectName: "maxMessageBox"
                from: 1; to: 2097151
                value: Math.round(page.server.maxMessageSize / 1024)
                onValueModified: page.server.maxMessageSize = value * 1024
            }
        }
    }
}
