// SPDX-License-Identifier: BSD-3-Clause
// The inspector's window: a WebSocketServer, its state (Store) and the pages that show and poke it.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QuickWebSockets
import "pages"

ApplicationWindow {
    id: window
    width: 1280
    height: 800
    visible: true
    title: qsTr("QuickWebSockets Inspector — %1").arg(serverUrl || qsTr("not listening"))
    font.pixelSize: 16

    // Set by main.cpp from the command line (and by tests).
    property int initialPort: 8080
    property bool initialSecure: false
    property string certificatePath: ""
    property string keyPath: ""
    property string initialAutoReply: "none"
    /// The file helper (FileIO in main.cpp): writeText(path, text), readText(path), tempPath(name).
    property var fileIO: null
    /// "system", "light" or "dark".
    property string theme: "system"

    readonly property string serverUrl: server.listening ? String(server.url) : ""
    readonly property alias server: server
    readonly property alias store: store
    readonly property alias pages: pages
    readonly property alias tabs: tabs
    readonly property alias connectionsPage: connectionsPage
    readonly property alias serverPage: serverPage
    readonly property alias eventsPage: eventsPage


    palette: theme === "dark" ? darkPalette : theme === "light" ? lightPalette : systemPalette
    readonly property Palette systemPalette: Palette {}
    background: Rectangle { color: window.palette.window }
    readonly property Palette lightPalette: Palette {
        window: "#f6f6f6"; windowText: "#1d1d1d"; base: "#ffffff"; alternateBase: "#eef1f5"; text: "#1d1d1d"
        button: "#e8e8e8"; buttonText: "#1d1d1d"; highlight: "#2f6fde"; highlightedText: "#ffffff"; mid: "#c8c8c8"
        placeholderText: "#707070"; light: "#ffffff"; dark: "#a0a0a0"
    }
    readonly property Palette darkPalette: Palette {
        window: "#202225"; windowText: "#e8e8e8"; base: "#17181a"; alternateBase: "#24272b"; text: "#e8e8e8"
        button: "#33363b"; buttonText: "#e8e8e8"; highlight: "#4f8cf0"; highlightedText: "#ffffff"; mid: "#4a4d52"
        placeholderText: "#909090"; light: "#3a3d42"; dark: "#101112"
    }

    WebSocketServer {
        id: server
        port: window.initialPort
        secureMode: window.initialSecure ? WebSocketServer.SecureMode : WebSocketServer.NonSecureMode
        certificate: window.certificatePath
        privateKey: window.keyPath
        serverName: "QuickWebSockets Inspector"
    }

    Store {
        id: store
        server: server
        autoReply: window.initialAutoReply
    }

    header: ToolBar {
        background: Rectangle { color: window.palette.button }
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 8
            anchors.rightMargin: 8
            TabBar {
                id: tabs
                Layout.fillWidth: true
                TabButton { text: qsTr("&Server"); width: implicitWidth + 24 }
                TabButton { text: qsTr("&Connections (%1)").arg(store.openCount); width: implicitWidth + 24 }
                TabButton { text: qsTr("&Events"); width: implicitWidth + 24 }
                TabButton { text: qsTr("C&harts"); width: implicitWidth + 24 }
            }
            Label { text: qsTr("Auto-reply") }
            ComboBox {
                id: replyBox
                model: ["none", "echo", "relay"]
                currentIndex: Math.max(0, model.indexOf(store.autoReply))
                onActivated: index => store.autoReply = model[index]
                ToolTip.visible: hovered
                ToolTip.text: qsTr("none: only watch; echo: send each message back; relay: a chat to all others")
            }
            Label { text: qsTr("Theme") }
            ComboBox {
                model: ["system", "light", "dark"]
                currentIndex: Math.max(0, model.indexOf(window.theme))
                onActivated: index => window.theme = model[index]
            }
        }
    }

    StackLayout {
        id: pages
        anchors.fill: parent
        currentIndex: tabs.currentIndex
        ServerPage { id: serverPage; server: server; store: store }
        ConnectionsPage { id: connectionsPage; store: store; fileIO: window.fileIO }
        EventsPage { id: eventsPage; store: store }
        ChartsPage { store: store }
    }

    footer: Label {
        padding: 6
        background: Rectangle { color: window.palette.alternateBase }
        text: server.listening
              ? qsTr("%1 — %2 open connection(s) — auto-reply: %3%4").arg(server.url).arg(store.openCount)
                .arg(store.autoReply).arg(server.accepting ? "" : qsTr(" — accepting paused"))
              : qsTr("Not listening") + (server.errorString ? " — " + server.errorString : "")
    }

    Shortcut { sequence: "Ctrl+1"; onActivated: tabs.currentIndex = 0 }
    Shortcut { sequence: "Ctrl+2"; onActivated: tabs.currentIndex = 1 }
    Shortcut { sequence: "Ctrl+3"; onActivated: tabs.currentIndex = 2 }
    Shortcut { sequence: "Ctrl+4"; onActivated: tabs.currentIndex = 3 }
    Shortcut { sequence: "Ctrl+Q"; onActivated: Qt.quit() }
}
