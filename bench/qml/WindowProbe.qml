// SPDX-License-Identifier: BSD-3-Clause
// A minimal window on a working server: a WebSocketServer whose JavaScript handlers count every message,
// the module's ConnectionList, a label refreshed at 10 Hz, and a square that spins forever, so the scene
// graph has a new frame to render at every tick of the animation driver (qws_qml_probe times the frames).
import QtQuick
import QuickWebSockets

Window {
    id: window
    width: 800
    height: 600
    visible: true
    color: "#f6f6f6"

    property int port: 0 // set by qws_qml_probe
    property alias server: server
    property double received: 0
    readonly property url url: server.url

    WebSocketServer {
        id: server
        port: window.port
        maxPendingConnections: 100
        onClientConnected: socket => {
            socket.textMessageReceived.connect(message => { ++window.received })
            socket.binaryMessageReceived.connect(message => { ++window.received })
        }
    }

    Rectangle {
        id: spinner
        x: 20; y: 20; width: 80; height: 80
        color: "steelblue"
        RotationAnimation on rotation { from: 0; to: 360; duration: 1000; loops: Animation.Infinite }
    }
    Text {
        id: label
        anchors { left: spinner.right; leftMargin: 20; verticalCenter: spinner.verticalCenter }
        font.pixelSize: 18
        Timer { // the counters in batches, as the inspector does: a binding on `received` would run per message
            interval: 100; running: true; repeat: true
            onTriggered: label.text = window.received + " messages, " + server.connectionCount + " connections"
        }
    }
    ConnectionList {
        server: server
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom; top: spinner.bottom; margins: 20 }
    }
}
