// SPDX-License-Identifier: BSD-3-Clause
// Peer: drives one connection's transport and protocol core on its worker thread.
#include "peer_p.h"

#include "logging_p.h"
#include "plaintransport_p.h"
#include "transport_p.h"
#include "worker_p.h"

#include <protocol/frame.h>

#include <QtCore/QDateTime>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <sys/epoll.h>

namespace qws {

namespace {

std::atomic<quint64> g_nextConnectionId{1};

qint64 steadyMicroseconds()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

std::span<const std::byte> asBytes(const char *data, std::size_t size)
{
    return {reinterpret_cast<const std::byte *>(data), size};
}

} // namespace

Peer::Peer(Worker &worker, std::unique_ptr<Transport> transport, std::shared_ptr<const EngineConfig> config,
           const SocketAddress &peer, const SocketAddress &local)
    : m_worker(worker)
    , m_transport(std::move(transport))
    , m_config(std::move(config))
    , m_core(std::make_unique<protocol::ServerConnection>(m_config->connection))
    , m_peerAddress(peer)
    , m_localAddress(local)
{
}

Peer::~Peer() = default;

int Peer::fd() const
{
    return m_transport ? m_transport->fd() : -1;
}

void Peer::start(const QByteArray &initialBytes)
{
    m_lastActivity = m_worker.now();
    if (m_config->handshakeTimeoutMs >= 0)
        m_deadline = m_worker.now() + m_config->handshakeTimeoutMs;
    driveTransport();
    if (m_phase == Phase::Active && !initialBytes.isEmpty())
        feed(initialBytes.constData(), std::size_t(initialBytes.size()));
    if (m_phase == Phase::Active)
        pump();
    reschedule();
}

// ---- readiness -------------------------------------------------------------------------------------

void Peer::onEvents(std::uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        m_readable = true;
        if (m_writeWantsRead) {
            m_writeWantsRead = false;
            m_writable = true;
        }
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        m_writable = true;
        if (m_readWantsWrite) {
            m_readWantsWrite = false;
            m_readable = true;
        }
    }
    pump();
    reschedule();
}

void Peer::onReady()
{
    pump();
    reschedule();
}

void Peer::pump()
{
    if (m_phase == Phase::Transport) {
        driveTransport();
        if (m_phase != Phase::Active)
            return;
    }
    flush();
    readSome();
}

void Peer::driveTransport()
{
    if (m_phase != Phase::Transport)
        return;
    switch (m_transport->handshake()) {
    case Transport::Status::Ok:
        m_phase = Phase::Active;
        m_readable = m_writable = true;   // the TLS layer may already hold application data
        break;
    case Transport::Status::WantRead:
    case Transport::Status::WantWrite:
        break;
    case Transport::Status::Closed:
    case Transport::Status::Failed:
        m_worker.host().tlsHandshakeFailed(m_transport->errorString());
        die();
        break;
    }
}

bool Peer::mayRead() const
{
    switch (m_phase) {
    case Phase::Active:
        if (m_inboundBlocked || m_core->state() == protocol::ServerConnection::State::Closed)
            return false;
        return !m_channel || !m_channel->userPaused.load(std::memory_order_acquire);
    case Phase::Linger:
        return true;
    default:
        return false;
    }
}

void Peer::readSome()
{
    std::size_t budget = 4 * Worker::kReadBufferSize;   // then let the other connections have a turn
    char *buffer = m_worker.readBuffer();
    while (m_readable && mayRead()) {
        if (budget == 0) {
            m_worker.markReady(this);
            return;
        }
        std::size_t count = 0;
        switch (m_transport->read(buffer, Worker::kReadBufferSize, count)) {
        case Transport::Status::Ok:
            budget -= std::min(budget, count);
            m_lastActivity = m_worker.now();
            if (m_phase == Phase::Active)
                feed(buffer, count);
            break;   // Linger: discarded
        case Transport::Status::WantRead:
            m_readable = false;
            return;
        case Transport::Status::WantWrite:
            m_readable = false;
            m_readWantsWrite = true;
            return;
        case Transport::Status::Closed:
            m_readable = false;
            m_peerEof = true;
            if (m_phase == Phase::Linger) {
                die();
                return;
            }
            m_core->receiveEof();
            afterCore();
            return;
        case Transport::Status::Failed:
            die(transportError());
            return;
        }
    }
}

void Peer::feed(const char *data, std::size_t size)
{
    m_core->receive(asBytes(data, size));
    afterCore();
}

// ---- the protocol core -------------------------------------------------------------------------

void Peer::afterCore()
{
    using State = protocol::ServerConnection::State;
    if (m_core->state() == State::AwaitingDecision)
        decide();
    const qint64 bytes = m_core->hasEvents() ? translate() : 0;
    collectOutput(false);
    auto &events = m_worker.scratchEvents();
    if (!events.empty()) {
        if (m_channel && m_channel->deliver(events, bytes)) {
            m_inboundBlocked = true;
            qCDebug(lcServer) << "connection" << m_channel->info.id << "reading paused: owner behind by"
                              << bytes << "+ bytes";
        }
        events.clear();
    }
    flush();
}

void Peer::decide()
{
    const protocol::Request &request = m_core->request();
    WorkerHost &host = m_worker.host();
    if (!host.authorizeOrigin(QString::fromStdString(request.origin))) {
        qCDebug(lcServer) << "origin refused:" << request.origin.c_str();
        m_core->reject(protocol::Error::HandshakeOriginRefused);
        return;
    }
    if (m_worker.shuttingDown()) {
        m_core->reject(protocol::Error::HandshakeServerFull, "server is shutting down");
        return;
    }
    if (!host.reservePending()) {
        qCDebug(lcServer) << "pending queue full: handshake refused (503)";
        m_core->reject(protocol::Error::HandshakeServerFull, "too many pending connections");
        host.pendingQueueFull();
        return;
    }
    m_core->accept();
    m_deadline = 0;
    m_lastActivity = m_worker.now();
    makeChannel();
    host.connectionOpened(m_channel);
}

void Peer::makeChannel()
{
    const protocol::Request &request = m_core->request();
    auto channel = std::make_shared<Channel>();
    ConnectionInfo &info = channel->info;
    info.id = g_nextConnectionId.fetch_add(1, std::memory_order_relaxed);
    info.peer = m_peerAddress;
    info.local = m_localAddress;
    info.secure = m_transport->isEncrypted();
    info.compressed = m_core->deflateParams().has_value();
    info.origin = QString::fromStdString(request.origin);
    info.subprotocol = QString::fromStdString(m_core->subprotocol());
    info.host = QByteArray::fromStdString(request.host);
    info.target = QByteArray::fromStdString(request.target);
    qsizetype total = 0;
    for (const protocol::Header &header : request.headers)
        total += qsizetype(header.name.size() + header.value.size() + 2);
    info.headers.reserve(total);
    for (const protocol::Header &header : request.headers) {
        info.headers.append(header.name.data(), qsizetype(header.name.size())).append('\0');
        info.headers.append(header.value.data(), qsizetype(header.value.size())).append('\0');
    }
    channel->maxInboundQueue = m_config->maxInboundQueue;
    channel->maxOutboundQueue = m_config->maxOutboundQueue;
    channel->outboundPolicy = m_config->outboundPolicy;
    channel->counters.connectedAtMs.store(QDateTime::currentMSecsSinceEpoch(), std::memory_order_relaxed);
    channel->worker = &m_worker;
    channel->peer = this;
    m_channel = std::move(channel);
}

qint64 Peer::translate()
{
    qint64 bytes = 0;
    auto &out = m_worker.scratchEvents();
    ConnectionCounters *counters = m_channel ? &m_channel->counters : nullptr;
    constexpr auto relaxed = std::memory_order_relaxed;
    for (protocol::Event &event : m_core->takeEvents()) {
        if (auto *message = std::get_if<protocol::Message>(&event)) {
            const std::size_t size = message->payload.size();
            InEvent &in = out.emplace_back();
            if (message->opcode == protocol::Opcode::Text) {
                in.kind = InEvent::Kind::Text;
                in.text = QString::fromUtf8(message->payload.data(), qsizetype(size));
            } else {
                in.kind = InEvent::Kind::Binary;
                in.data = QByteArray(message->payload.data(), qsizetype(size));
            }
            bytes += qint64(size);
            if (counters) {
                counters->messagesReceived.fetch_add(1, relaxed);
                counters->bytesReceived.fetch_add(size, relaxed);
            }
        } else if (auto *pong = std::get_if<protocol::Pong>(&event)) {
            onPong(pong->payload);
        } else if (auto *close = std::get_if<protocol::Close>(&event)) {
            InEvent &in = out.emplace_back();
            in.kind = InEvent::Kind::PeerClosing;
            in.code = close->code;
            in.text = QString::fromStdString(close->reason);
        } else if (auto *failure = std::get_if<protocol::Failure>(&event)) {
            qCDebug(lcProtocol) << "connection failed:" << protocol::describe(failure->error).data();
            InEvent &in = out.emplace_back();
            in.kind = InEvent::Kind::Failed;
            in.code = protocol::closeCodeFor(failure->error);
            const std::string_view text = protocol::describe(failure->error);
            in.text = QString::fromUtf8(text.data(), qsizetype(text.size()));
        }
        // Ping: the core already queued the pong. Fragment: not requested (deliverFragments off).
    }
    return bytes;
}

void Peer::onPong(std::string &payload)
{
    const qint64 nowUs = steadyMicroseconds();
    auto it = std::find_if(m_pings.begin(), m_pings.end(),
                           [&](const PendingPing &ping) { return ping.payload == payload; });
    qint64 elapsedUs = 0;
    bool internal = false;
    if (it != m_pings.end()) {
        elapsedUs = nowUs - it->stampUs;
        internal = it->internal;
        m_pings.erase(m_pings.begin(), it + 1);
        if (m_channel)
            m_channel->counters.roundTripTimeUs.store(elapsedUs, std::memory_order_relaxed);
    }
    if (internal)
        return;
    InEvent &in = m_worker.scratchEvents().emplace_back();
    in.kind = InEvent::Kind::Pong;
    in.number = elapsedUs / 1000;
    in.data = QByteArray::fromStdString(payload);
}

void Peer::collectOutput(bool accounted)
{
    if (m_core->hasOutput())
        m_out.appendBytes(m_core->takeOutput(), accounted);
}

// ---- commands from the owner ---------------------------------------------------------------------

void Peer::onCommands()
{
    if (!m_channel || m_phase == Phase::Dead)
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
            if (m_phase == Phase::Active && m_core->state() == protocol::ServerConnection::State::Open)
                sendData(command);
            else
                refund += command.data.size();
            break;
        case OutCommand::Kind::Ping:
            if (m_core->sendPing(std::string_view(command.data.constData(), std::size_t(command.data.size())))) {
                m_pings.push_back({command.data.left(125).toStdString(), command.stampUs, false});
                if (m_pings.size() > 32)
                    m_pings.erase(m_pings.begin());
                collectOutput(false);
            }
            break;
        case OutCommand::Kind::Close:
            if (command.discardQueued)
                refund += qint64(m_out.dropUnstarted());
            if (m_core->state() == protocol::ServerConnection::State::Open) {
                if (!m_core->close(command.code, std::string_view(command.data.constData(),
                                                                  std::size_t(command.data.size())))) {
                    qCDebug(lcServer) << "close code" << command.code << "cannot be sent: dropping TCP";
                    die();
                    return;
                }
                collectOutput(false);
                m_closeDeadline = m_worker.now() + m_config->closeTimeoutMs;
            }
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
    if (!m_core->deflateParams() || size < m_config->connection.deflate.minMessageSize) {
        // Uncompressed: a frame header of our own and the owner's bytes, written together by writev.
        std::array<std::byte, protocol::kMaxFrameHeaderSize> header;
        const std::size_t headerSize = protocol::writeFrameHeader(
                header, text ? protocol::Opcode::Text : protocol::Opcode::Binary, true, false, size);
        m_out.appendFrame(reinterpret_cast<const char *>(header.data()), headerSize, std::move(command.data), true);
        counters.outboundQueued.fetch_add(qint64(headerSize), relaxed);
        return;
    }
    const std::string_view payload(command.data.constData(), size);
    const bool sent = text ? m_core->sendText(payload)
                           : m_core->sendBinary(asBytes(payload.data(), payload.size()));
    if (!sent || !m_core->hasOutput()) {
        counters.outboundQueued.fetch_sub(qint64(size), relaxed);
        return;
    }
    std::string frame = m_core->takeOutput();
    counters.outboundQueued.fetch_add(qint64(frame.size()) - qint64(size), relaxed);
    m_out.appendBytes(std::move(frame), true);
}

// ---- writing and ending ------------------------------------------------------------------------

void Peer::flush()
{
    if (m_phase != Phase::Active && m_phase != Phase::Linger)
        return;
    std::size_t written = 0;
    while (!m_out.isEmpty() && m_writable) {
        struct iovec iov[64];
        const int n = m_out.gather(iov, 64);
        std::size_t count = 0;
        switch (m_transport->write(iov, n, count)) {
        case Transport::Status::Ok: {
            const std::size_t accounted = m_out.consume(count);
            if (accounted && m_channel)
                m_channel->counters.outboundQueued.fetch_sub(qint64(accounted), std::memory_order_relaxed);
            written += count;
            break;
        }
        case Transport::Status::WantWrite:
            m_writable = false;
            break;
        case Transport::Status::WantRead:
            m_writable = false;
            m_writeWantsRead = true;
            break;
        case Transport::Status::Closed:
        case Transport::Status::Failed:
            die(transportError());
            return;
        }
    }
    if (written && m_channel && m_channel->wantBytesWritten.load(std::memory_order_relaxed)) {
        std::vector<InEvent> events(1);
        events.front().kind = InEvent::Kind::BytesWritten;
        events.front().number = qint64(written);
        m_channel->deliver(events, 0);
    }
    if (m_out.isEmpty()) {
        m_out.compact();
        maybeFinish();
    }
}

void Peer::maybeFinish()
{
    if (m_phase != Phase::Active || m_core->state() != protocol::ServerConnection::State::Closed)
        return;
    if (m_peerEof) {
        die();
        return;
    }
    // RFC 6455 §7.1.1: the server closes TCP first; shut our side down, then wait for the peer's FIN
    // (closing with unread input would send RST and could destroy our close frame in flight).
    m_transport->shutdown();
    m_phase = Phase::Linger;
    m_deadline = m_worker.now() + m_config->lingerMs;
    readSome();
}

QAbstractSocket::SocketError Peer::transportError() const
{
    if (auto *plain = dynamic_cast<PlainTransport *>(m_transport.get())) {
        if (plain->lastErrno() == ECONNRESET || plain->lastErrno() == EPIPE)
            return QAbstractSocket::RemoteHostClosedError;
    }
    return QAbstractSocket::NetworkError;
}

void Peer::die(QAbstractSocket::SocketError error)
{
    if (m_phase == Phase::Dead)
        return;
    m_phase = Phase::Dead;
    if (m_channel) {
        InEvent last;
        last.kind = InEvent::Kind::Disconnected;
        last.code = m_core->closeCode();
        last.text = QString::fromStdString(m_core->closeReason());
        if (error == QAbstractSocket::UnknownSocketError && m_peerEof && last.code == 1006)
            error = QAbstractSocket::RemoteHostClosedError;   // TCP ended without a closing handshake
        last.error = error;
        m_channel->peer = nullptr;
        m_channel->finish(std::move(last));
        m_worker.host().connectionClosed();
    }
    m_worker.retire(this);
}

// ---- deadlines ------------------------------------------------------------------------------------

qint64 Peer::nextDeadline() const
{
    using State = protocol::ServerConnection::State;
    qint64 when = std::numeric_limits<qint64>::max();
    switch (m_phase) {
    case Phase::Transport:
    case Phase::Linger:
        if (m_deadline)
            when = m_deadline;
        break;
    case Phase::Active: {
        const State state = m_core->state();
        if (state == State::Handshake || state == State::AwaitingDecision) {
            if (m_deadline)
                when = m_deadline;
            break;
        }
        if (m_closeDeadline)
            when = std::min(when, m_closeDeadline);
        if (state == State::Open) {
            if (m_config->idleTimeoutMs > 0)
                when = std::min(when, m_lastActivity + m_config->idleTimeoutMs);
            if (m_config->keepAliveMs > 0)
                when = std::min(when, std::max(m_lastActivity, m_lastKeepAlive) + m_config->keepAliveMs);
        }
        break;
    }
    case Phase::Dead:
        break;
    }
    return when;
}

void Peer::reschedule()
{
    if (m_phase == Phase::Dead)
        return;
    const qint64 when = nextDeadline();
    if (when < timerWhen) {
        timerWhen = when;
        m_worker.scheduleTimer(this, when);
    }
}

void Peer::onTimer()
{
    using State = protocol::ServerConnection::State;
    const qint64 now = m_worker.now();
    switch (m_phase) {
    case Phase::Transport:
        if (m_deadline && now >= m_deadline) {
            m_worker.host().tlsHandshakeFailed(QStringLiteral("TLS handshake timed out"));
            die();
            return;
        }
        break;
    case Phase::Linger:
        if (now >= m_deadline) {
            die();
            return;
        }
        break;
    case Phase::Active: {
        const State state = m_core->state();
        if (state == State::Handshake || state == State::AwaitingDecision) {
            if (m_deadline && now >= m_deadline) {
                qCDebug(lcServer) << "handshake timed out";
                m_core->handshakeTimedOut();
                afterCore();
            }
            break;
        }
        if (m_closeDeadline && now >= m_closeDeadline) {
            qCDebug(lcServer) << "peer did not answer our close frame in time";
            die();
            return;
        }
        if (state != State::Open)
            break;
        if (m_config->idleTimeoutMs > 0 && now - m_lastActivity >= m_config->idleTimeoutMs) {
            m_core->close(1001, "idle timeout");
            m_closeDeadline = now + m_config->closeTimeoutMs;
            collectOutput(false);
            flush();
            break;
        }
        if (m_config->keepAliveMs > 0 && now >= std::max(m_lastActivity, m_lastKeepAlive) + m_config->keepAliveMs) {
            if (m_core->sendPing()) {
                m_pings.push_back({std::string(), steadyMicroseconds(), true});
                if (m_pings.size() > 32)
                    m_pings.erase(m_pings.begin());
                collectOutput(false);
                flush();
            }
            m_lastKeepAlive = now;
        }
        break;
    }
    case Phase::Dead:
        return;
    }
    reschedule();
}

// ---- shutdown --------------------------------------------------------------------------------------

void Peer::shutdownGracefully()
{
    using State = protocol::ServerConnection::State;
    if (m_phase == Phase::Transport) {
        die();
        return;
    }
    if (m_phase != Phase::Active)
        return;
    const State state = m_core->state();
    if (state == State::Handshake || state == State::AwaitingDecision) {
        m_core->reject(protocol::Error::HandshakeServerFull, "server is shutting down");
        afterCore();
    } else if (state == State::Open) {
        m_core->close(1001, "server closed");
        m_closeDeadline = m_worker.now() + m_config->closeTimeoutMs;
        collectOutput(false);
        flush();
    }
    reschedule();
}

void Peer::abortNow()
{
    if (m_phase == Phase::Active && m_core->state() == protocol::ServerConnection::State::Open) {
        m_core->close(1001, "server closed");
        collectOutput(false);
        m_writable = true;
        flush();   // one attempt; whatever the kernel takes
    }
    die();
}

} // namespace qws
