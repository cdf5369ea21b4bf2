// SPDX-License-Identifier: BSD-3-Clause
// A WebSocket echo server: every message a client sends comes straight back to it.
import QuickWebSockets

WebSocketServer {
    port: 8080 // main.cpp sets it from its argument or QWS_ECHO_PORT
    onClientConnected: socket => {
        socket.textMessageReceived.connect(message => socket.sendTextMessage(message))
        socket.binaryMessageReceived.connect(message => socket.sendBinaryMessage(message))
    }
}
