// SPDX-License-Identifier: BSD-3-Clause
// qws_load frames: parsing server frames, inflating, checking every echoed byte, building masked client frames.
#include "load_conn.h"

#include "protocol/frame.h"
#include "protocol/mask.h"

#include <cstring>

namespace qwsload {

namespace proto = qws::protocol;

bool Conn::processFrames(const char *data, std::size_t len)
{
    while (len > 0 || (m_inPayload && m_payloadLeft == 0)) {
        if (!m_inPayload) {
            std::size_t need = 2;
            while (true) {
                if (m_hdrLen >= 2) {
                    const std::uint8_t l7 = m_hdr[1] & 0x7f;
                    need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((m_hdr[1] & 0x80) ? 4 : 0);
                }
                if (m_hdrLen >= need || len == 0)
                    break;
                m_hdr[m_hdrLen++] = std::uint8_t(*data++);
                --len;
            }
            if (m_hdrLen < need)
                return true;
            const std::uint8_t b0 = m_hdr[0];
            const bool fin = b0 & 0x80, rsv1 = b0 & 0x40;
            const std::uint8_t op = b0 & 0x0f;
            const std::uint8_t l7 = m_hdr[1] & 0x7f;
            std::uint64_t plen = l7;
            if (l7 == 126)
                plen = (std::uint64_t(m_hdr[2]) << 8) | m_hdr[3];
            else if (l7 == 127)
                for (int i = 0; i < 8; ++i)
                    plen = (plen << 8) | m_hdr[2 + i];
            m_hdrLen = 0;
            bool bad = (b0 & 0x30) || (m_hdr[1] & 0x80); // RSV2/3, or a masked server frame
            if (op & 0x8) {
                bad = bad || !fin || rsv1 || plen > 125 || op > 0xA;
                m_control.clear();
            } else if (op == 1 || op == 2) {
                bad = bad || m_msgActive || (rsv1 && !m_deflate);
                m_msgActive = true;
                m_msgOpcode = op;
                m_msgCompressed = rsv1;
                m_msgOffset = 0;
                writeTag(m_expectTag, m_id, m_recvSeq);
                if (rsv1 && m_serverNoContext)
                    inflateReset(m_zin.get());
            } else {
                bad = bad || op != 0 || !m_msgActive || rsv1;
            }
            if (bad) {
                fail(&Counters::protocolErrors);
                return false;
            }
            m_frameOpcode = op;
            m_frameFin = fin;
            m_payloadLeft = plen;
            m_inPayload = true;
        }
        const std::size_t n = std::size_t(std::min<std::uint64_t>(len, m_payloadLeft));
        if (m_frameOpcode & 0x8) {
            m_control.append(data, n);
        } else if (m_msgCompressed) {
            z_stream &z = *m_zin;
            z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data));
            z.avail_in = uInt(n);
            do {
                z.next_out = reinterpret_cast<Bytef *>(m_host.scratch2.data());
                z.avail_out = uInt(m_host.scratch2.size());
                const int r = inflate(&z, Z_SYNC_FLUSH);
                const std::size_t produced = m_host.scratch2.size() - z.avail_out;
                if ((r != Z_OK && r != Z_BUF_ERROR) || (r == Z_BUF_ERROR && z.avail_in && !produced)) {
                    fail(&Counters::protocolErrors);
                    return false;
                }
                if (produced && !sink(m_host.scratch2.data(), produced))
                    return false;
            } while (z.avail_in > 0 || z.avail_out == 0);
        } else if (n && !sink(data, n)) {
            return false;
        }
        data += n;
        len -= n;
        m_payloadLeft -= n;
        if (m_payloadLeft > 0)
            return true;
        m_inPayload = false;
        if (m_frameOpcode == 0x9) {
            sendControl(0xA, m_control.data(), m_control.size());
        } else if (m_frameOpcode == 0x8) {
            m_closeReceived = true;
            if (!m_closeSent) {
                // The server closed on its own: an error for an echo benchmark (often a limit hit).
                ++m_host.counters.unexpectedCloses;
                sendControl(0x8, m_control.data(), std::min<std::size_t>(m_control.size(), 2));
                m_closeSent = true;
                m_state = State::Closing;
            }
            m_closeDeadline = nowNs() + kCloseWaitNs;
        } else if (m_frameOpcode < 0x8 && m_frameFin) {
            if (m_msgCompressed) {
                static const char tail[4] = {0, 0, char(0xff), char(0xff)};
                z_stream &z = *m_zin;
                z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(tail));
                z.avail_in = 4;
                do {
                    z.next_out = reinterpret_cast<Bytef *>(m_host.scratch2.data());
                    z.avail_out = uInt(m_host.scratch2.size());
                    const int r = inflate(&z, Z_SYNC_FLUSH);
                    const std::size_t produced = m_host.scratch2.size() - z.avail_out;
                    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
                        fail(&Counters::protocolErrors);
                        return false;
                    }
                    if (produced && !sink(m_host.scratch2.data(), produced))
                        return false;
                    if (!produced && r == Z_BUF_ERROR)
                        break;
                } while (z.avail_in > 0 || z.avail_out == 0);
            }
            if (!finishMessage(true))
                return false;
        }
    }
    return true;
}

bool Conn::processRaw(const char *data, std::size_t len)
{
    const std::size_t size = m_host.opts->size;
    while (len > 0) {
        if (m_msgOffset == 0)
            writeTag(m_expectTag, m_id, m_recvSeq);
        const std::size_t n = std::min<std::size_t>(len, size - m_msgOffset);
        if (!sink(data, n))
            return false;
        data += n;
        len -= n;
        if (m_msgOffset == size && !finishMessage(false))
            return false;
    }
    return true;
}

bool Conn::sink(const char *data, std::size_t len)
{
    const std::size_t size = m_host.opts->size;
    bool ok = outstanding() > 0 && m_msgOffset + len <= size;
    if (ok) {
        std::size_t off = std::size_t(m_msgOffset);
        std::size_t k = 0;
        if (off < kTagSize) {
            k = std::min(kTagSize - off, len);
            ok = std::memcmp(data, m_expectTag + off, k) == 0;
        }
        ok = ok && std::memcmp(data + k, m_host.pattern->data() + off + k, len - k) == 0;
    }
    if (!ok) {
        fail(&Counters::verifyErrors);
        return false;
    }
    m_msgOffset += len;
    return true;
}

bool Conn::finishMessage(bool checkOpcode)
{
    m_msgActive = false;
    const std::uint8_t wantOp = m_host.opts->text ? 1 : 2;
    if (m_msgOffset != m_host.opts->size || (checkOpcode && m_msgOpcode != wantOp) || outstanding() == 0) {
        fail(&Counters::verifyErrors);
        return false;
    }
    m_msgOffset = 0;
    const std::uint64_t sentAt = m_sendTimes[m_sendHead++];
    if (m_sendHead == m_sendTimes.size()) {
        m_sendTimes.clear();
        m_sendHead = 0;
    }
    ++m_recvSeq;
    ++m_host.counters.messages;
    m_host.counters.bytes += m_host.opts->size;
    m_phaseStart = m_host.now;
    m_host.onEcho(*this, m_host.now > sentAt ? m_host.now - sentAt : 0);
    return m_state != State::Closed;
}

void Conn::appendFrame(std::uint8_t opcode, bool rsv1, const char *payload, std::size_t len)
{
    const std::uint32_t r = m_host.random32();
    const std::array<std::uint8_t, 4> mask = {std::uint8_t(r), std::uint8_t(r >> 8), std::uint8_t(r >> 16),
                                              std::uint8_t(r >> 24)};
    std::array<std::byte, proto::kMaxFrameHeaderSize> hdr;
    const std::size_t h = proto::writeFrameHeader(hdr, proto::Opcode(opcode), true, rsv1, len, &mask);
    const std::size_t at = m_out.size();
    m_out.resize(at + h + len);
    std::memcpy(m_out.data() + at, hdr.data(), h);
    proto::applyMaskCopy(reinterpret_cast<std::byte *>(m_out.data() + at + h),
                         reinterpret_cast<const std::byte *>(payload), len, mask, 0);
}

void Conn::sendControl(std::uint8_t opcode, const char *payload, std::size_t len)
{
    appendFrame(opcode, false, payload, len);
}

void Conn::sendMessage()
{
    const Options &o = *m_host.opts;
    char tag[kTagSize];
    writeTag(tag, m_id, m_sendSeq);
    const std::size_t tagLen = std::min(kTagSize, o.size);
    const std::uint8_t opcode = o.text ? 1 : 2;
    if (o.raw) {
        const std::size_t at = m_out.size();
        m_out.resize(at + o.size);
        std::memcpy(m_out.data() + at, tag, tagLen);
        std::memcpy(m_out.data() + at + tagLen, m_host.pattern->data() + tagLen, o.size - tagLen);
    } else if (m_deflate) {
        z_stream &z = *m_zout;
        deflateReset(&z);
        std::vector<char> &buf = m_host.scratch2;
        const std::size_t bound = deflateBound(&z, uLong(o.size)) + 16;
        if (buf.size() < bound)
            buf.resize(bound);
        z.next_out = reinterpret_cast<Bytef *>(buf.data());
        z.avail_out = uInt(buf.size());
        z.next_in = reinterpret_cast<Bytef *>(tag);
        z.avail_in = uInt(tagLen);
        deflate(&z, Z_NO_FLUSH);
        z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(m_host.pattern->data() + tagLen));
        z.avail_in = uInt(o.size - tagLen);
        deflate(&z, Z_SYNC_FLUSH);
        std::size_t n = buf.size() - z.avail_out;
        if (n >= 4)
            n -= 4; // RFC 7692 §7.2.1: drop the 00 00 ff ff tail
        appendFrame(opcode, true, buf.data(), n);
    } else {
        const std::uint32_t r = m_host.random32();
        const std::array<std::uint8_t, 4> mask = {std::uint8_t(r), std::uint8_t(r >> 8), std::uint8_t(r >> 16),
                                                  std::uint8_t(r >> 24)};
        std::array<std::byte, proto::kMaxFrameHeaderSize> hdr;
        const std::size_t h = proto::writeFrameHeader(hdr, proto::Opcode(opcode), true, false, o.size, &mask);
        const std::size_t at = m_out.size();
        m_out.resize(at + h + o.size);
        std::byte *dst = reinterpret_cast<std::byte *>(m_out.data() + at);
        std::memcpy(dst, hdr.data(), h);
        const std::size_t phase =
            proto::applyMaskCopy(dst + h, reinterpret_cast<const std::byte *>(tag), tagLen, mask, 0);
        proto::applyMaskCopy(dst + h + tagLen, reinterpret_cast<const std::byte *>(m_host.pattern->data() + tagLen),
                             o.size - tagLen, mask, phase);
    }
    ++m_sendSeq;
    ++m_host.counters.sent;
    if (o.oneway)
        return; // nothing comes back: no send time to keep (an incoming data message fails verification)
    const std::uint64_t t = nowNs();
    if (outstanding() == 0)
        m_phaseStart = t; // the echo time bound starts now, not when the connection opened
    m_sendTimes.push_back(t);
}

} // namespace qwsload
