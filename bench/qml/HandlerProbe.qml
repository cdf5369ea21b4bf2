// SPDX-License-Identifier: BSD-3-Clause
// The QML user's path, no window: every text or binary message reaches a JavaScript handler that counts it.
import QuickWebSockets

WebSocketServer {
    id: server
    /// Messages counted inside the JavaScript handlers (qws_qml_probe samples it).
    property double received: 0
    port: 0 // set by qws_qml_probe
    maxPendingConnections: 100 // the load generator opens up to 16 at once; keep refusals out of the figure
    onClientConnected: socket => {
        socket.textMessageReceived.connect(message => { ++server.received })
        socket.binaryMessageReceived.connect(message => { ++server.received })
    }
}
