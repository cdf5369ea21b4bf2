// SPDX-License-Identifier: BSD-3-Clause
// Store: the inspector's state — tracked connections (closed ones kept a while), bounded message logs,
// the event log, auto-reply and chart samples — fed only by the public WebSocketServer/WebSocket API.
// Built for floods (1,000 clients, 20,000 messages/s): a message costs one call into its connection's
// C++ ring (MessageRings: no JavaScript object kept, so the QML garbage collector's pauses stay short);
// entries, counters and views are built on the timers, and only for the connection on screen.
import QtQuick
import QuickWebSockets
import QwsInspector
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
    /// bytesOut, rtt, state, closed, closeCode, closeReason, closedAt}; updated in place, pruned (and
    /// reassigned) at each refresh.
    property var rows: []
    property var byCid: ({})          // cid -> row
    property int revision: 0          // bumps when rows change (connects, closes, refresh)
    property int logRevision: 0       // bumps when logs changed, at most every 150 ms
    /// The message logs, one C++ ring per connection (examples/inspector/messagerings.h).
    readonly property MessageRings rings: MessageRings {
        capacity: store.logCapacity
        binaryKeep: store.binaryKeep
        onCapacityChanged: store.logRevision++
    }
    /// The last log(cid) built, kept while that ring is unchanged: {cid, version, view}.
    property var logCache: ({ cid: -1, version: -1, view: null })
    /// Plain JS state written per message or per connect without notifying anything.
    property var pending: ({ logs: false, rows: false, cursor: 0, messages: 0, bytes: 0 })
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

    function row(cid: real): var { return byCid[cid] || null }

    /// A connection's log as {items: [{time, direction, opcode, size, text, hex[, bytes]}], dropped},
    /// oldest first (bytes: an ArrayBuffer of the kept bytes); rebuilt only when the ring changed.
    function log(cid: real): var {
        const c = logCache, version = rings.version(cid)
        if (c.view && c.cid === cid && c.version === version) return c.view
        c.view = rings.log(cid)
        c.cid = cid
        c.version = version
        return c.view
    }

    /// Records a message in a connection's log: payload is the text or an ArrayBuffer; size -1 means
    /// "the text's UTF-8 length", measured only if the entry is ever shown or exported.
    function record(cid: real, direction: string, opcode: string, payload: var, size: int) {
        // Cut a large binary payload here: handing an ArrayBuffer to C++ copies all of it (a string is shared).
        if (payload && typeof payload !== "string" && payload.byteLength > binaryKeep)
            payload = payload.slice(0, binaryKeep)
        rings.record(cid, direction, opcode, payload, size)
        pending.logs = true // views follow at most every 150 ms, not once per message
    }

    function openRows(): var { return rows.filter(r => !r.closed && r.socket) }

    function sendText(cid: real, text: string): bool {
        const r = row(cid)
        if (!r || r.closed || !r.socket) return false
        r.socket.sendTextMessage(text)
        record(cid, "out", "text", text, -1)
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
        openRows().forEach(r => record(r.cid, "out", "text", text, -1))
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
        // The log's own entries (sizes measured, hex of up to binaryKeep bytes).
        const l = log(cid)
        return l.items.map(e => JSON.stringify({
            time: new Date(e.time).toISOString(), direction: e.direction, opcode: e.opcode, size: e.size,
            text: e.bytes ? undefined : e.text, hex: e.bytes ? Format.toHex(new Uint8Array(e.bytes), e.bytes.byteLength) : undefined
        })).join("\n") + (l.items.length ? "\n" : "")
    }

    function clearLog(cid: real) { rings.clear(cid); logRevision++ }

    readonly property var stateNames: ["unconnected", "host lookup", "connecting", "open", "bound", "listening", "closing"]
    /// Counters of a row from its socket; returns [new messages in, new bytes in] since the last read.
    function readCounters(r: var, s: var): var {
        const msgIn = s.messagesReceived, bytesIn = s.bytesReceived
        const delta = [msgIn - r.msgIn, bytesIn - r.bytesIn]
        r.msgIn = msgIn; r.msgOut = s.messagesSent
        r.bytesIn = bytesIn; r.bytesOut = s.bytesSent
        return delta
    }

    /// Reads the counters of up to `budget` rows, resuming where the last call stopped; after the last row,
    /// prunes rows closed longer than keepClosedMs, updates the totals and bumps `revision`. The 100 ms
    /// timer calls it with 250 rows, so 1,000 connections cost four small steps, not one long frame.
    function refreshSome(budget: real) {
        const p = pending
        let n = 0
        while (p.cursor < rows.length && n < budget) {
            const r = rows[p.cursor++]
            ++n
            const s = r.socket
            if (r.closed || !s) continue
            const delta = readCounters(r, s)
            p.messages += delta[0]; p.bytes += delta[1]
            r.rtt = s.roundTripTime
            r.state = stateNames[s.state] || "?"
        }
        if (p.cursor < rows.length) return
        p.cursor = 0
        const now = Date.now()
        let open = 0, pruned = false
        const kept = []
        for (const r of rows) {
            if (r.closed && now - r.closedAt >= keepClosedMs) {
                rings.remove(r.cid); delete byCid[r.cid]; pruned = true
                continue
            }
            if (!r.closed) ++open
            kept.push(r)
        }
        if (pruned) rows = kept
        openCount = open
        totalMessages += p.messages
        totalBytes += p.bytes
        p.messages = 0; p.bytes = 0
        p.rows = false
        revision++
    }
    /// Every row at once.
    function refresh() { pending.cursor = 0; refreshSome(Infinity) }

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
        rows.push(r)
        byCid[cid] = r
        openCount += 1
        pending.rows = true
        event("connect", "#" + cid + " " + r.peer + " " + (r.path || "/") + (r.origin ? " origin " + r.origin : "")
              + (r.subprotocol ? " subprotocol " + r.subprotocol : "") + (r.compressed ? " deflate" : ""))
        socket.textMessageReceived.connect(message => {
            store.record(cid, "in", "text", message, -1)
            if (store.autoReply !== "none") store.reply(cid, message, false)
        })
        socket.binaryMessageReceived.connect(message => {
            store.record(cid, "in", "binary", message, message.byteLength)
            if (store.autoReply !== "none") store.reply(cid, message, true)
        })
        socket.pong.connect(elapsed => store.record(cid, "in", "pong", "rtt " + elapsed.toFixed(2) + " ms", 0))
        socket.disconnected.connect(() => {
            r.closed = true
            r.closedAt = Date.now()
            r.closeCode = socket.closeCode
            r.closeReason = socket.closeReason
            r.state = "closed"
            const delta = store.readCounters(r, socket)
            store.totalMessages += delta[0]; store.totalBytes += delta[1]
            r.socket = null
            store.record(cid, "in", "close", r.closeCode + (r.closeReason ? " " + r.closeReason : ""), 0)
            store.event("disconnect", "#" + cid + " " + r.peer + " code " + r.closeCode
                        + (r.closeReason ? " \"" + r.closeReason + "\"" : ""))
            store.openCount -= 1
            store.pending.rows = true // the views follow on the 150 ms timer (a mass disconnect stays O(n))
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
    Timer { interval: 100; running: true; repeat: true; onTriggered: store.refreshSome(250) }
    Timer {
        interval: 150; running: true; repeat: true
        onTriggered: {
            if (store.pending.logs) { store.pending.logs = false; store.logRevision++ }
            if (store.pending.rows) { store.pending.rows = false; store.revision++ }
        }
    }
    Timer { interval: 1000; running: true; repeat: true; onTriggered: store.sample() }
}
