// SPDX-License-Identifier: BSD-3-Clause
// Formatting helpers of the inspector: sizes, UTF-8 length, hex/base64 parsing, hex dump, pretty JSON.
.pragma library

function utf8Length(s) {
    let n = 0
    for (let i = 0; i < s.length; ++i) {
        const c = s.charCodeAt(i)
        if (c < 0x80) n += 1
        else if (c < 0x800) n += 2
        else if (c >= 0xd800 && c <= 0xdbff) { n += 4; ++i }
        else n += 3
    }
    return n
}

function bytes(n) {
    if (n < 1024) return n + " B"
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB"
    return (n / 1048576).toFixed(1) + " MiB"
}

function time(ms) {
    const d = new Date(ms)
    const p = (v, w) => ("000" + v).slice(-w)
    return p(d.getHours(), 2) + ":" + p(d.getMinutes(), 2) + ":" + p(d.getSeconds(), 2) + "." + p(d.getMilliseconds(), 3)
}

// "de ad be ef" or "deadbeef" -> ArrayBuffer, or null when not hex.
function parseHex(text) {
    const clean = text.replace(/[\s:,]/g, "")
    if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) return null
    const out = new Uint8Array(clean.length / 2)
    for (let i = 0; i < out.length; ++i) out[i] = parseInt(clean.substr(i * 2, 2), 16)
    return out.buffer
}

function parseBase64(text) {
    const clean = text.replace(/\s/g, "")
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return null
    const raw = Qt.atob(clean)
    const out = new Uint8Array(raw.length)
    for (let i = 0; i < raw.length; ++i) out[i] = raw.charCodeAt(i) & 0xff
    return out.buffer
}

function toHex(u8, limit) {
    let s = ""
    const n = Math.min(u8.length, limit)
    for (let i = 0; i < n; ++i) s += (u8[i] < 16 ? "0" : "") + u8[i].toString(16) + (i + 1 < n ? " " : "")
    return s
}

// Classic 16-bytes-a-line hex + ASCII dump.
function hexDump(u8) {
    let lines = []
    for (let off = 0; off < u8.length; off += 16) {
        let hex = "", ascii = ""
        for (let i = 0; i < 16; ++i) {
            if (off + i < u8.length) {
                const b = u8[off + i]
                hex += (b < 16 ? "0" : "") + b.toString(16) + " "
                ascii += b >= 32 && b < 127 ? String.fromCharCode(b) : "."
            } else {
                hex += "   "
            }
        }
        lines.push(("0000000" + off.toString(16)).slice(-8) + "  " + hex + " " + ascii)
    }
    return lines.join("\n")
}

// Pretty-printed JSON, or null when the text is not JSON.
function prettyJson(text) {
    const t = text.trim()
    if (!(t.startsWith("{") || t.startsWith("["))) return null
    try { return JSON.stringify(JSON.parse(t), null, 2) } catch (e) { return null }
}

function errorWords(code, text) {
    switch (code) {
    case 0: return ""
    case 1: return "That value was refused: " + text
    case 2: return "The server could not listen: " + text
    case 3: return "Certificate or key problem: " + text
    case 4: return "A client's handshake failed: " + text
    case 5: return "Could not accept a connection: " + text
    }
    return text
}
