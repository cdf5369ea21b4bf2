// SPDX-License-Identifier: BSD-3-Clause
// Store: the inspector's state — tracked connections (closed ones kept a while), bounded message logs,
// the event log, auto-reply and chart samples — fed only by the public WebSocketServer/WebSocket API.
import QtQuick
import QuickWebSockets
import "Format.js" as Format

Item {
    id: store
    visible: false

    required property WebSocketServer server
    /// "none", "echo" or "relay" (every text/binary message goes to all other open clients).
    property string autoReply: "none"
    /// Messages kept per connection; older ones are dropped and counted.
    property int logCapacity: 500
    /// How long closed connections stay in the table (ms).
    property int keepClosedMs: 30000
    /// Bytes of a binary payload kept for the hex view.
    property int binaryKeep: 4096

    /// Rows: {cid, socket, peer, path, origin, subprotocol, compressed, sinceMs, msgIn, msgOut, bytesIn,
    /// bytesOut, rtt, state, closed, closeCode, closeReason, closedAt}; reassigned at each refresh.
    property var rows: []
    property int revision: 0          // bumps when rows or logs change (batched: see `dirty`)
    property bool dirty: false
    property var logs: ({})           // cid -> {items: [...], dropped: n}
    property int openCount: 0
    // Chart samples, one a second, for the last few minutes.
    property int chartLength: 180
    property var msgRate: []
    property var byteRate: []
    property var connSamples: []
    property real totalMessages: 0
    property real totalBytes: 0
    property real lastMessages: 0
    property real lastBytes: 0

    property ListModel events: ListModel {}

    function event(kind: string, text: string) {
        events.append({ time: Format.time(Date.now()), kind: kind, message: text })
        if (events.count > 2000)
            events.remove(0, events.count - 2000)
    }

    function row(cid: real): var {
        for (let i = 0; i < rows.length; ++i)
            if (rows[i].cid === cid) return rows[i]
        return null
    }

    function log(cid: real): var {
        if (!logs[cid]) logs[cid] = { items: [], dropped: 0 }
        return logs[cid]
    }

    /// Records a message in a connection's log. payload: the text, or an ArrayBuffer.
    function record(cid: real, direction: string, opcode: string, payload: var, size: int) {
        const l = log(cid)
        const entry = { time: Date.now(), direction: direction, opcode: opcode, size: size, text: "", hex: "" }
        if (typeof payload === "string") {
            entry.text = payload
        } else if (payload) {
            const u8 = new Uint8Array(payload, 0, Math.min(payload.byteLength, binaryKeep))
            entry.bytes = Array.from(u8)
            entry.hex = Format.toHex(u8, 64)
        }
        l.items.push(entry)
        if (l.items.length > logCapacity) {
            l.dropped += l.items.length - logCapacity
            l.items.splice(0, l.items.length - logCapacity)
        }
        if (direction === "in") { totalMessages += 1; totalBytes += size }
        dirty = true // views follow at most every 150 ms, not once per message
    }

    function openRows(): var { return rows.filter(r => !r.closed && r.socket) }

    function sendText(cid: real, text: string): bool {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return false
        r.socket.sendTextMessage(text)
        record(cid, "out", "text", text, Format.utf8Length(text))
        return true
    }
    function sendBinary(cid: real, buffer: var): bool {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return false
        r.socket.sendBinaryMessage(buffer)
        record(cid, "out", "binary", buffer, buffer.byteLength)
        return true
    }
    function sendTextToAll(text: string): int {
        const n = server.broadcastTextMessage(text)
        openRows().forEach(r => record(r.cid, "out", "text", text, Format.utf8Length(text)))
        return n
    }
    function sendBinaryToAll(buffer: var): int {
        const n = server.broadcastBinaryMessage(buffer)
        openRows().forEach(r => record(r.cid, "out", "binary", buffer, buffer.byteLength))
        return n
    }
    function ping(cid: real) {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return
        r.socket.ping()
        record(cid, "out", "ping", "", 0)
    }
    function closeConnection(cid: real, code: int, reason: string) {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return
        record(cid, "out", "close", code + (reason ? " " + reason : ""), 2 + Format.utf8Length(reason))
        r.socket.close(code, reason)
    }
    /// Kick: drop the TCP connection at once, no close frame (WebSocket.abort(); closeCode then reads 1006).
    function kick(cid: real) {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return
        record(cid, "out", "kick", "aborted by the inspector (no close frame)", 0)
        r.socket.abort()
    }

    /// A connection's log as JSON Lines (one JSON object a line).
    function jsonLines(cid: real): string {
        const l = log(cid)
        return l.items.map(e => JSON.stringify({
            time: new Date(e.time).toISOString(), direction: e.direction, opcode: e.opcode, size: e.size,
            text: e.bytes ? undefined : e.text, hex: e.bytes ? Format.toHex(new Uint8Array(e.bytes), e.bytes.length) : undefined
        })).join("\n") + (l.items.length ? "\n" : "")
    }

    function clearLog(cid: real) { logs[cid] = { items: [], dropped: 0 }; revision++ }

    function refresh() {
        const now = Date.now()
        let open = 0
        const kept = []
        for (const r of rows) {
            if (r.closed) {
                if (now - r.closedAt < keepClosedMs) kept.push(r)
                else delete logs[r.cid]
                continue
            }
            ++open
            const s = r.socket
            if (s) {
                r.msgIn = s.messagesReceived; r.msgOut = s.messagesSent
                r.bytesIn = s.bytesReceived; r.bytesOut = s.bytesSent
                r.rtt = s.roundTripTime
                r.state = ["unconnected", "host lookup", "connecting", "open", "bound", "listening", "closing"][s.state] || "?"
            }
            kept.push(r)
        }
        rows = kept
        openCount = open
        revision++
    }

    function sample() {
        const push = (arr, v) => { arr.push(v); if (arr.length > chartLength) arr.shift(); return arr }
        msgRate = push(msgRate.slice(), totalMessages - lastMessages)
        byteRate = push(byteRate.slice(), totalBytes - lastBytes)
        connSamples = push(connSamples.slice(), openCount)
        lastMessages = totalMessages
        lastBytes = totalBytes
    }

    function track(socket: WebSocket) {
        const cid = socket.id
        const r = {
            cid: cid, socket: socket, peer: socket.peerAddress + ":" + socket.peerPort, path: socket.path,
            origin: socket.origin, subprotocol: socket.subprotocol, compressed: socket.compressed,
            sinceMs: socket.connectedAt.getTime(), msgIn: 0, msgOut: 0, bytesIn: 0, bytesOut: 0, rtt: -1,
            state: "open", closed: false, closeCode: 0, closeReason: "", closedAt: 0
        }
        rows = rows.concat([r])
        openCount += 1
        log(cid)
        event("connect", "#" + cid + " " + r.peer + " " + (r.path || "/") + (r.origin ? " origin " + r.origin : "")
              + (r.subprotocol ? " subprotocol " + r.subprotocol : "") + (r.compressed ? " deflate" : ""))
        socket.textMessageReceived.connect(message => {
            store.record(cid, "in", "text", message, Format.utf8Length(message))
            store.reply(cid, message, false)
        })
        socket.binaryMessageReceived.connect(message => {
            store.record(cid, "in", "binary", message, message.byteLength)
            store.reply(cid, message, true)
        })
        socket.pong.connect(elapsed => store.record(cid, "in", "pong", "rtt " + elapsed.toFixed(2) + " ms", 0))
        socket.disconnected.connect(() => {
            r.closed = true
            r.closedAt = Date.now()
            r.closeCode = socket.closeCode
            r.closeReason = socket.closeReason
            r.state = "closed"
            r.msgIn = socket.messagesReceived; r.msgOut = socket.messagesSent
            r.bytesIn = socket.bytesReceived; r.bytesOut = socket.bytesSent
            r.socket = null
            store.record(cid, "in", "close", r.closeCode + (r.closeReason ? " " + r.closeReason : ""), 0)
            store.event("disconnect", "#" + cid + " " + r.peer + " code " + r.closeCode
                        + (r.closeReason ? " \"" + r.closeReason + "\"" : ""))
            store.refresh()
        })
    }

    /// A reason of the element's handshakeFailed(peerAddress, peerPort, reason, errorString), in plain words.
    function handshakeReasonWords(reason: int): string {
        switch (reason) {
        case WebSocketServer.HandshakeBadRequest: return qsTr("bad request")
        case WebSocketServer.HandshakeTimeout: return qsTr("timeout")
        case WebSocketServer.HandshakeOriginRefused: return qsTr("refused origin")
        case WebSocketServer.HandshakeTlsFailed: return qsTr("TLS error")
        case WebSocketServer.HandshakeServerFull: return qsTr("server full")
        case WebSocketServer.HandshakeConnectionLost: return qsTr("connection lost")
        }
        return qsTr("reason %1").arg(reason)
    }
    function handshakeFailed(peerAddress: string, peerPort: int, reason: int, errorString: string) {
        const host = peerAddress.indexOf(":") >= 0 ? "[" + peerAddress + "]" : peerAddress // IPv6 in brackets
        event("handshake", qsTr("handshake failed from %1:%2: %3").arg(host).arg(peerPort)
              .arg(handshakeReasonWords(reason)) + (errorString ? " (" + errorString + ")" : ""))
    }

    function reply(cid: real, message: var, binary: bool) {
        if (autoReply === "echo") {
            binary ? sendBinary(cid, message) : sendText(cid, message)
        } else if (autoReply === "relay") {
            for (const r of openRows())
                if (r.cid !== cid) binary ? sendBinary(r.cid, message) : sendText(r.cid, message)
        }
    }

    Connections {
        target: store.server
        function onClientConnected(socket) { store.track(socket) }
        function onServerError(error) {
            // A failed handshake is logged by onHandshakeFailed, with the client's address; the
            // element's error text for it stays on the server page.
            if (error !== WebSocketServer.HandshakeError)
                store.event("error", store.server.errorString)
        }
        function onHandshakeFailed(peerAddress, peerPort, reason, errorString) {
            store.handshakeFailed(peerAddress, peerPort, reason, errorString)
        }
        function onAcceptError(error) { store.event("accept", "accept failed (socket error " + error + ")") }
        function onListeningChanged() {
            store.event("server", store.server.listening ? "listening on " + store.server.url : "stopped")
        }
    }
    Timer { interval: 500; running: true; repeat: true; onTriggered: store.refresh() }
    Timer {
        interval: 150; running: true; repeat: true
        onTriggered: if (store.dirty) { store.dirty = false; store.revision++ }
    }
    Timer { interval: 1000; running: true; repeat: true; onTriggered: store.sample() }
}
