// SPDX-License-Identifier: BSD-3-Clause
// A WebSocket echo server: every message a client sends comes straight back to it.
import QuickWebSockets

WebSocketServer {
    port: 8080 // main.cpp sets it from its argument or QWS_ECHO_PORT
    // One handler for every connection (per-socket handlers, connected in onClientConnected, work too but
    // cost a JavaScript function and a connection per socket).
    onTextMessageReceived: (socket, message) => socket.sendTextMessage(message)
    onBinaryMessageReceived: (socket, message) => socket.sendBinaryMessage(message)
}
