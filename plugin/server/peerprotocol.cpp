// SPDX-License-Identifier: BSD-3-Clause
// Peer, the protocol half: the handshake decision, core events → channel, owner commands → core/frames.
#include "peer_p.h"

#include "logging_p.h"
#include "transport_p.h"
#include "worker_p.h"

#include <protocol/frame.h>
#include <protocol/utf16.h>

#include <QtCore/QDateTime>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>

namespace qws {

namespace {

std::atomic<quint64> g_nextConnectionId{1};

std::span<const std::byte> asBytes(const char *data, std::size_t size)
{
    return {reinterpret_cast<const std::byte *>(data), size};
}

/// `text` = the validated UTF-8 `utf8`, written into its own storage when it has room and nobody else
/// holds it (an event vector the owner gave back), else into a new string of the exact size.
void assignText(QString &text, std::string_view utf8)
{
    const qsizetype units = qsizetype(protocol::utf16Size(utf8));
    if (text.isDetached() && text.capacity() >= units)
        text.resize(units);
    else
        text = QString(units, Qt::Uninitialized);
    protocol::writeUtf16(utf8, reinterpret_cast<char16_t *>(text.data()));
}

/// `data` = `bytes`, reusing its storage the same way.
void assignBytes(QByteArray &data, std::string_view bytes)
{
    const qsizetype size = qsizetype(bytes.size());
    if (data.isDetached() && data.capacity() >= size)
        data.resize(size);
    else
        data = QByteArray(size, Qt::Uninitialized);
    if (size)
        std::memcpy(data.data(), bytes.data(), bytes.size());
}

} // namespace

// ---- the protocol core -------------------------------------------------------------------------

void Peer::afterCore()
{
    using State = protocol::ServerConnection::State;
    if (m_core.state() == State::AwaitingDecision)
        decide();
    protocol::ReceiveScratch &scratch = m_worker.receiveScratch();
    qint64 bytes = 0;
    if (m_core.hasEvents()) {   // from calls other than receive(…, scratch): accept(), a timeout, EOF
        std::vector<protocol::Event> events = m_core.takeEvents();
        bytes += translate(events);
    }
    if (!scratch.events.empty()) {
        bytes += translate(scratch.events);
        scratch.events.clear();
    }
    collectOutput(false);
    if (m_worker.hasEvents()) {
        std::vector<InEvent> &events = m_worker.takeEvents();
        bool queuePost = false;
        if (m_opened && m_channel->deliver(events, bytes, queuePost)) {
            m_inboundBlocked = true;
            qCDebug(lcServer) << "connection" << m_channel->info.id << "reading paused: owner behind by"
                              << bytes << "+ bytes";
        }
        if (queuePost)
            m_worker.queuePost(m_channel);
        events.clear();
    }
    flush();
}

void Peer::decide()
{
    const protocol::Request &request = m_core.request();
    WorkerHost &host = m_worker.host();
    using Failure = WebSocketServer::HandshakeFailure;
    if (!host.authorizeOrigin(QString::fromStdString(request.origin))) {
        qCDebug(lcServer) << "origin refused:" << request.origin.c_str();
        if (claimFailureReport()) {
            reportFailure(Failure::OriginRefused,
                          request.origin.empty()
                                  ? QStringLiteral("a request without an Origin header was refused (HTTP 403 sent)")
                                  : QStringLiteral("origin \"%1\" refused (HTTP 403 sent)")
                                            .arg(QString::fromStdString(request.origin)));
        }
        m_core.reject(protocol::Error::HandshakeOriginRefused);
        return;
    }
    if (m_worker.shuttingDown()) {
        if (claimFailureReport())
            reportFailure(Failure::ConnectionLost,
                          QStringLiteral("the server closed during the opening handshake (HTTP 503 sent)"));
        m_core.reject(protocol::Error::HandshakeServerFull, "server is shutting down");
        return;
    }
    if (!host.reservePending()) {
        qCDebug(lcServer) << "pending queue full: handshake refused (503)";
        if (claimFailureReport())
            reportFailure(Failure::ServerFull,
                          QStringLiteral("too many pending connections (maxPendingConnections %1; HTTP 503 sent)")
                                  .arg(m_config->maxPendingConnections));
        m_core.reject(protocol::Error::HandshakeServerFull, "too many pending connections");
        host.pendingQueueFull();
        return;
    }
    m_core.accept();
    m_deadline = 0;
    m_lastActivity = m_worker.now();
    openChannel();
    m_core.releaseHandshake();   // the channel holds what the WebSocket needs: origin, target, headers
    host.connectionOpened(m_channel);
}

// ---- handshake failures (WebSocketServer::handshakeFailed()) --------------------------------------

bool Peer::claimFailureReport()
{
    if (m_failureReported)
        return false;
    m_failureReported = true;
    return m_worker.host().wantsHandshakeFailures();
}

void Peer::reportFailure(WebSocketServer::HandshakeFailure reason, const QString &text)
{
    m_worker.host().handshakeFailed(m_channel->info.peer, reason, text);
}

/// The core refused the request itself (bad request) or timed out (handshakeTimedOut()).
void Peer::reportHandshakeError(protocol::Error error, int status)
{
    if (error == protocol::Error::HandshakeTimeout) {
        reportFailure(WebSocketServer::HandshakeFailure::Timeout,
                      QStringLiteral("the opening handshake did not complete within %1 ms (HTTP %2 sent)")
                              .arg(m_config->handshakeTimeoutMs).arg(status));
        return;
    }
    const std::string_view text = protocol::describe(error);
    reportFailure(WebSocketServer::HandshakeFailure::BadRequest,
                  QStringLiteral("%1 (HTTP %2 sent)")
                          .arg(QString::fromUtf8(text.data(), qsizetype(text.size())))
                          .arg(status));
}

QString Peer::connectionLostText(QAbstractSocket::SocketError error) const
{
    const QString phase = m_phase == Phase::Transport ? QStringLiteral("TLS") : QStringLiteral("opening");
    switch (error) {
    case QAbstractSocket::RemoteHostClosedError:
        return QStringLiteral("the peer reset the connection during the %1 handshake").arg(phase);
    case QAbstractSocket::UnknownSocketError:
        return QStringLiteral("the peer closed the connection during the %1 handshake").arg(phase);
    default:
        return QStringLiteral("the connection failed during the %1 handshake: %2")
                .arg(phase, transport().errorString());
    }
}

void Peer::openChannel()
{
    const protocol::Request &request = m_core.request();
    Channel *channel = m_channel.get();
    ConnectionInfo &info = channel->info;
    info.id = g_nextConnectionId.fetch_add(1, std::memory_order_relaxed);
    info.secure = transport().isEncrypted();
    info.compressed = m_core.isCompressed();
    info.request = RequestBlock(request.target, m_core.subprotocol(), request.headers);
    channel->maxInboundQueue = m_config->maxInboundQueue;
    channel->maxOutboundQueue = m_config->maxOutboundQueue;
    channel->outboundPolicy = m_config->outboundPolicy;
    channel->counters.connectedAtMs.store(QDateTime::currentMSecsSinceEpoch(), std::memory_order_relaxed);
    channel->worker = &m_worker;
    channel->peer = this;
    m_opened = true;
}

qint64 Peer::translate(std::vector<protocol::Event> &events)
{
    qint64 bytes = 0;
    quint64 messages = 0;
    quint64 takenBytes = 0;   // by the engine message handler: counted, never queued to the owner
    const bool offer = m_opened && m_config->messageHandler;
    for (protocol::Event &event : events) {
        if (auto *message = std::get_if<protocol::Message>(&event)) {
            if (offer) {
                if (const std::optional<std::size_t> taken = offerToHandler(*message)) {
                    ++messages;
                    takenBytes += *taken;
                    continue;
                }
            }
            InEvent &in = m_worker.nextEvent();
            const std::string_view view = message->bytes();   // in the read block, or the core's buffer
            std::size_t size = view.size();
            if (message->external) {   // a large binary message, already in its QByteArray
                auto &payload = static_cast<ReadBlocks::Payload &>(*message->external);
                size = std::size_t(payload.data.size());
                in.kind = InEvent::Kind::Binary;
                in.data = std::move(payload.data);
            } else if (message->opcode == protocol::Opcode::Text) {
                in.kind = InEvent::Kind::Text;
                assignText(in.text, view);
            } else {
                in.kind = InEvent::Kind::Binary;
                assignBytes(in.data, view);
            }
            in.number = qint64(size);
            bytes += qint64(size);
            ++messages;
            m_worker.receiveScratch().recycle(std::move(message->payload));
        } else if (auto *pong = std::get_if<protocol::Pong>(&event)) {
            onPong(pong->payload);
        } else if (auto *close = std::get_if<protocol::Close>(&event)) {
            InEvent &in = m_worker.nextEvent();
            in.kind = InEvent::Kind::PeerClosing;
            in.code = close->code;
            in.text = QString::fromStdString(close->reason);
        } else if (auto *failure = std::get_if<protocol::Failure>(&event)) {
            qCDebug(lcProtocol) << "connection failed:" << protocol::describe(failure->error).data();
            if (const int status = protocol::httpStatusFor(failure->error); status && claimFailureReport())
                reportHandshakeError(failure->error, status);
            InEvent &in = m_worker.nextEvent();
            in.kind = InEvent::Kind::Failed;
            in.code = protocol::closeCodeFor(failure->error);
            const std::string_view text = protocol::describe(failure->error);
            in.text = QString::fromUtf8(text.data(), qsizetype(text.size()));
        }
        // Ping: the core already queued the pong. Fragment: not requested (deliverFragments off).
    }
    if (offer)
        countReplies();
    if (messages && m_opened) {   // once per read, not per message: each is a locked instruction
        m_channel->counters.messagesReceived.fetch_add(messages, std::memory_order_relaxed);
        m_channel->counters.bytesReceived.fetch_add(quint64(bytes) + takenBytes, std::memory_order_relaxed);
    }
    return bytes;
}

bool Peer::beginClose(quint16 code, std::string_view reason, bool discardQueued)
{
    if (discardQueued) {
        if (const std::size_t dropped = m_out.dropUnstarted())
            m_channel->counters.outboundQueued.fetch_sub(qint64(dropped), std::memory_order_relaxed);
    }
    if (m_core.state() != protocol::ServerConnection::State::Open)
        return true;
    if (!m_core.close(code, reason)) {
        qCDebug(lcServer) << "close code" << code << "cannot be sent: dropping TCP";
        die();
        return false;
    }
    collectOutput(false);
    m_deadline = m_worker.now() + m_config->closeTimeoutMs;
    return true;
}

void Peer::rememberPing(PendingPing ping)
{
    if (!m_pings)
        m_pings = std::make_unique<std::vector<PendingPing>>();
    m_pings->push_back(std::move(ping));
    if (m_pings->size() > 32)
        m_pings->erase(m_pings->begin());
}

void Peer::onPong(std::string &payload)
{
    const qint64 nowUs = steadyMicroseconds();
    std::vector<PendingPing> none;
    std::vector<PendingPing> &pings = m_pings ? *m_pings : none;
    auto it = std::find_if(pings.begin(), pings.end(),
                           [&](const PendingPing &ping) { return ping.payload == payload; });
    qint64 elapsedUs = 0;
    bool internal = false;
    if (it != pings.end()) {
        elapsedUs = nowUs - it->stampUs;
        internal = it->internal;
        pings.erase(pings.begin(), it + 1);
        if (pings.empty())
            m_pings.reset();   // at rest again: a keepalive round trip leaves nothing allocated
        if (m_opened)
            m_channel->counters.setRoundTripTimeUs(elapsedUs);
    }
    if (internal)
        return;
    InEvent &in = m_worker.nextEvent();
    in.kind = InEvent::Kind::Pong;
    in.number = elapsedUs / 1000;
    in.data = QByteArray::fromStdString(payload);
}

void Peer::collectOutput(bool accounted)
{
    if (m_core.hasOutput())
        m_out.appendBytes(m_core.takeOutput(), accounted);
}

// ---- commands from the owner ---------------------------------------------------------------------

void Peer::onCommands()
{
    if (!m_opened || m_phase == Phase::Dead)
        return;
    bool readBlocked = false;
    std::vector<OutCommand> commands = m_channel->takeCommands(readBlocked);
    if (!readBlocked)
        m_inboundBlocked = false;
    qint64 refund = 0;
    for (OutCommand &command : commands) {
        switch (command.kind) {
        case OutCommand::Kind::Text:
        case OutCommand::Kind::Binary:
            if (m_phase == Phase::Active && m_core.state() == protocol::ServerConnection::State::Open)
                sendData(command);
            else
                refund += command.data.size();
            break;
        case OutCommand::Kind::Frames:
            if (m_phase == Phase::Active && m_core.state() == protocol::ServerConnection::State::Open) {
                ConnectionCounters &counters = m_channel->counters;
                counters.messagesSent.fetch_add(command.messages, std::memory_order_relaxed);
                counters.bytesSent.fetch_add(quint64(command.payloadBytes), std::memory_order_relaxed);
                m_out.appendFrames(std::move(command.data), true);   // charged whole by submitFrame()
            } else {
                refund += command.data.size();
            }
            break;
        case OutCommand::Kind::Ping:
            if (m_core.sendPing(std::string_view(command.data.constData(), std::size_t(command.data.size())))) {
                rememberPing({command.data.left(125).toStdString(), command.stampUs, false});
                collectOutput(false);
            }
            break;
        case OutCommand::Kind::Close:
            if (!beginClose(command.code, std::string_view(command.data.constData(), std::size_t(command.data.size())),
                            command.discardQueued))
                return;
            break;
        case OutCommand::Kind::Abort:
            die();
            return;
        case OutCommand::Kind::Flags:
            break;
        }
    }
    if (refund)
        m_channel->counters.outboundQueued.fetch_sub(refund, std::memory_order_relaxed);
    flush();
    readSome();   // resumes reading if the owner drained its queue or resumed
    reschedule();
}

void Peer::sendData(OutCommand &command)
{
    const std::size_t size = std::size_t(command.data.size());
    const bool text = command.kind == OutCommand::Kind::Text;
    ConnectionCounters &counters = m_channel->counters;
    constexpr auto relaxed = std::memory_order_relaxed;
    counters.messagesSent.fetch_add(1, relaxed);
    counters.bytesSent.fetch_add(size, relaxed);
    if (!m_core.isCompressed() || size < m_config->connection.deflate.minMessageSize) {
        // Uncompressed: a frame header of our own and the owner's bytes, written together by writev.
        std::array<std::byte, protocol::kMaxFrameHeaderSize> header;
        const std::size_t headerSize = protocol::writeFrameHeader(
                header, text ? protocol::Opcode::Text : protocol::Opcode::Binary, true, false, size);
        m_out.appendFrame(reinterpret_cast<const char *>(header.data()), headerSize, std::move(command.data), true);
        counters.outboundQueued.fetch_add(qint64(headerSize), relaxed);
        return;
    }
    const std::string_view payload(command.data.constData(), size);
    const bool sent = text ? m_core.sendText(payload)
                           : m_core.sendBinary(asBytes(payload.data(), payload.size()));
    if (!sent || !m_core.hasOutput()) {
        counters.outboundQueued.fetch_sub(qint64(size), relaxed);
        return;
    }
    std::string frame = m_core.takeOutput();
    counters.outboundQueued.fetch_add(qint64(frame.size()) - qint64(size), relaxed);
    m_out.appendBytes(std::move(frame), true);
}

} // namespace qws
