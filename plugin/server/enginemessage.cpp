// SPDX-License-Identifier: BSD-3-Clause
// The engine message handler: EngineMessage, and the half of Peer that offers messages and frames replies.
#include "enginemessage.h"

#include "defaults_p.h"
#include "logging_p.h"
#include "peer_p.h"
#include "worker_p.h"

#include <protocol/frame.h>
#include <protocol/utf8.h>

namespace qws {

namespace {
constexpr char kOutboundFull[] = "outbound queue full";
}

quint64 EngineMessage::connectionId() const
{
    return m_peer.m_channel->info.id;
}

qint64 EngineMessage::outboundQueued() const
{
    return m_peer.m_channel->counters.outboundQueued.load(std::memory_order_relaxed)
            + m_peer.m_worker.replyTally().queued;
}

bool EngineMessage::sendText(QByteArrayView utf8)
{
    // The received text itself was validated by the core already (an echo needs no second pass).
    const bool known = m_text && utf8.data() == m_payload.data() && utf8.size() == m_payload.size();
    return m_peer.reply(true, utf8, nullptr, known);
}

bool EngineMessage::sendBinary(const QByteArray &data)
{
    return m_peer.reply(false, data, &data, false);
}

std::optional<std::size_t> Peer::offerToHandler(protocol::Message &message)
{
    const QByteArray *shared = nullptr;
    const std::string_view bytes = message.bytes();   // in the read block, or the core's buffer
    QByteArrayView payload(bytes.data(), qsizetype(bytes.size()));
    if (message.external) {   // a large binary message read in place: already its own QByteArray
        shared = &static_cast<ReadBlocks::Payload &>(*message.external).data;
        payload = *shared;
    }
    EngineMessage view(*this, payload, shared, message.opcode == protocol::Opcode::Text);
    if (!(*m_config->messageHandler)(view))
        return std::nullopt;
    m_worker.receiveScratch().recycle(std::move(message.payload));
    return std::size_t(payload.size());
}

void Peer::countReplies()
{
    Worker::ReplyTally &tally = m_worker.replyTally();
    if (m_phase == Phase::Dead) {   // die() settled the counters and sent Disconnected last
        tally = {};
        return;
    }
    if (tally.messages) {
        ConnectionCounters &counters = m_channel->counters;
        constexpr auto relaxed = std::memory_order_relaxed;
        counters.outboundQueued.fetch_add(tally.queued, relaxed);
        counters.messagesSent.fetch_add(tally.messages, relaxed);
        counters.bytesSent.fetch_add(tally.bytes, relaxed);
    }
    if (tally.refused) {   // WebSocket::outboundQueueFull(), and the close the owner would have begun
        InEvent &in = m_worker.nextEvent();
        in.kind = InEvent::Kind::OutboundFull;
        in.code = tally.closing ? WebSocketProtocol::CloseCodePolicyViolated : 0;
        in.text = tally.closing ? QString::fromLatin1(kOutboundFull) : QString();
    }
    tally = {};
}

bool Peer::reply(bool text, QByteArrayView data, const QByteArray *shared, bool validated)
{
    if (m_phase != Phase::Active || m_core.state() != protocol::ServerConnection::State::Open)
        return false;
    const std::size_t size = std::size_t(data.size());
    const std::string_view bytes(data.data(), size);
    if (text && !validated && !protocol::isValidUtf8(bytes))
        return false;
    Worker::ReplyTally &tally = m_worker.replyTally();
    const qint64 queued = m_channel->counters.outboundQueued.load(std::memory_order_relaxed) + tally.queued;
    if (queued > 0 && queued + qint64(size) > m_config->maxOutboundQueue) {
        qCDebug(lcServer) << "connection" << m_channel->info.id << "engine reply refused: outbound queue full";
        if (m_config->outboundPolicy == OutboundPolicy::CloseConnection) {
            // The replies so far into the counters first: the drop below refunds them.
            countReplies();
            if (!beginClose(WebSocketProtocol::CloseCodePolicyViolated, kOutboundFull, true))
                return false;   // dropped instead (cannot happen for 1008 while open)
            tally.closing = true;
        }
        tally.refused = true;
        return false;
    }
    const auto opcode = text ? protocol::Opcode::Text : protocol::Opcode::Binary;
    qint64 charged = 0;
    if (!m_core.isCompressed() || size < m_config->connection.deflate.minMessageSize) {
        std::array<std::byte, protocol::kMaxFrameHeaderSize> header;
        std::size_t headerSize = 2;
        if (size < 126) {   // the usual reply: FIN + opcode, 7-bit length, unmasked
            header[0] = std::byte(0x80 | std::uint8_t(opcode));
            header[1] = std::byte(size);
        } else {
            headerSize = protocol::writeFrameHeader(header, opcode, true, false, size);
        }
        const char *headerBytes = reinterpret_cast<const char *>(header.data());
        // Shared, not copied, unless the array does not own its bytes (QByteArray::fromRawData() of a
        // view the engine will reuse).
        if (shared && size > std::size_t(defaults::kInlineFrameMax) && shared->capacity() > 0)
            m_out.appendFrame(headerBytes, headerSize, *shared, true);
        else
            m_out.appendFrameCopy(headerBytes, headerSize, data.data(), size, true);
        charged = qint64(headerSize + size);
    } else {
        collectOutput(false);   // so that takeOutput() below holds this message's frame alone
        const bool sent = text ? m_core.sendText(bytes)
                               : m_core.sendBinary({reinterpret_cast<const std::byte *>(bytes.data()), size});
        if (!sent || !m_core.hasOutput())
            return false;
        std::string frame = m_core.takeOutput();
        charged = qint64(frame.size());
        m_out.appendBytes(std::move(frame), true);
    }
    tally.queued += charged;
    ++tally.messages;
    tally.bytes += size;
    return true;
}

} // namespace qws
