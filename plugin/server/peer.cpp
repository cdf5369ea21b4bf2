// SPDX-License-Identifier: BSD-3-Clause
// Peer, the I/O half: transport handshake, reads, writes, ending, deadlines (see peerprotocol.cpp).
#include "peer_p.h"

#include "logging_p.h"
#include "plaintransport_p.h"
#include "poller_p.h"
#include "transport_p.h"
#include "worker_p.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace qws {

namespace {

/// A message's rest of at least this many bytes is read straight into its storage (the core's
/// payloadSink()). Below it, one read into a block that also takes the frames behind it costs fewer
/// system calls than a read that stops at the message's end.
constexpr std::size_t kDirectReadMin = 64 * 1024;

std::span<const std::byte> asBytes(const char *data, std::size_t size)
{
    return {reinterpret_cast<const std::byte *>(data), size};
}

} // namespace

qint64 Peer::steadyMicroseconds()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

Peer::Peer(Worker &worker, int fd, std::unique_ptr<Transport> tls, std::shared_ptr<const EngineConfig> config,
           const SocketAddress &peer, const SocketAddress &local)
    : m_worker(worker)
    , m_config(config.get())
    , m_channel(std::make_shared<Channel>())
    , m_tls(std::move(tls))
    , m_plain(m_tls ? -1 : fd)
    // aliasing pointer: every peer shares its snapshot's connection settings, no per-peer copy
    , m_core(std::shared_ptr<const protocol::ConnectionConfig>(std::move(config), &m_config->connection))
{
    m_channel->info.peer = peer;
    m_channel->info.local = local;
}

Peer::~Peer() = default;

int Peer::fd() const
{
    return transport().fd();
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
    if (events & Poller::HangUp)
        m_hungUp = true;
    if (events & Poller::Readable) {
        m_readable = true;
        if (m_writeWantsRead) {
            m_writeWantsRead = false;
            m_writable = true;
        }
    }
    if (events & Poller::Writable) {
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
    const Transport::Status status = transport().handshake();
    switch (status) {
    case Transport::Status::Ok:
        m_phase = Phase::Active;
        m_readable = m_writable = true;   // the TLS layer may already hold application data
        break;
    case Transport::Status::WantRead:   // what it waits for (only rearm() reads these flags here)
        m_readable = false;
        m_writable = true;
        break;
    case Transport::Status::WantWrite:
        m_readable = true;
        m_writable = false;
        break;
    case Transport::Status::Closed:
    case Transport::Status::Failed:
        m_worker.host().tlsHandshakeFailed(transport().errorString());
        if (claimFailureReport()) {
            const bool lost = status == Transport::Status::Closed || transport().failedByPeer();
            reportFailure(lost ? WebSocketServer::HandshakeFailure::ConnectionLost
                               : WebSocketServer::HandshakeFailure::TlsFailed, transport().errorString());
        }
        die();
        break;
    }
}

bool Peer::mayRead() const
{
    switch (m_phase) {
    case Phase::Active:
        if (m_inboundBlocked || m_core.state() == protocol::ServerConnection::State::Closed)
            return false;
        return !m_channel->userPaused.load(std::memory_order_acquire);
    case Phase::Linger:
        return true;
    default:
        return false;
    }
}

void Peer::readSome()
{
    std::size_t budget = 4 * Worker::kReadBufferSize;   // then let the other connections have a turn
    while (m_readable && mayRead()) {
        if (budget == 0) {
            m_worker.markReady(this);
            return;
        }
        // The rest of a large message goes straight into its own storage (no copy out of a read
        // buffer); anything else into a read block, asked for each read: the last one's block may now
        // be shared with messages it held.
        std::span<std::byte> sink;
        if (m_phase == Phase::Active)
            sink = m_core.payloadSink();
        const bool direct = sink.size() >= kDirectReadMin;
        bool adoptable = false;
        char *buffer = nullptr;
        std::size_t size = Worker::kReadBufferSize;
        if (direct) {
            buffer = reinterpret_cast<char *>(sink.data());
            size = std::min(sink.size(), std::max(budget, Worker::kReadBufferSize));
        } else {
            buffer = m_worker.readBlocks().beginRead(adoptable);
        }
        std::size_t count = 0;
        switch (transport().read(buffer, size, count)) {
        case Transport::Status::Ok: {
            budget -= std::min(budget, count);
            m_lastActivity = m_worker.now();
            // A short read of a plain socket emptied its receive queue: what arrives next is a new
            // readiness event (edge-triggered) or is polled for again (level-triggered), so the EAGAIN
            // read that would follow is skipped: one system call per message burst. Not once the peer
            // hung up (its EOF may be queued behind the bytes just read, and no new edge would report
            // it), and not with TLS (a record boundary also ends a read). Known before the bytes are
            // handled: maybeFinish() may close at once when nothing is left unread.
            const bool drained = count < size && !m_hungUp && !m_tls;
            if (drained)
                m_readable = false;
            if (direct) {
                m_core.receivedInPlace(count, m_worker.receiveScratch());
                afterCore();
            } else if (m_phase == Phase::Active) {
                feed(buffer, count, adoptable);
            }
            // Linger: discarded.
            if (drained)
                return;
            break;
        }
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
            m_core.receiveEof();
            afterCore();
            return;
        case Transport::Status::Failed:
            die(transportError());
            return;
        }
    }
}

void Peer::feed(const char *data, std::size_t size, bool inReadBlock)
{
    protocol::ReceiveScratch &scratch = m_worker.receiveScratch();
    scratch.inputWritable = inReadBlock;
    m_core.receive(asBytes(data, size), scratch);
    scratch.inputWritable = false;
    if (inReadBlock)
        m_worker.readBlocks().endRead();   // before any message can reach the owner
    afterCore();
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
        switch (transport().write(iov, n, count)) {
        case Transport::Status::Ok: {
            const std::size_t accounted = m_out.consume(count);
            if (accounted)
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
    if (written && m_opened && m_channel->watches(Channel::WatchBytesWritten)) {
        std::vector<InEvent> events(1);
        events.front().kind = InEvent::Kind::BytesWritten;
        events.front().number = qint64(written);
        bool queuePost = false;
        m_channel->deliver(events, 0, queuePost);
        if (queuePost)
            m_worker.queuePost(m_channel);
    }
    if (m_out.isEmpty()) {
        m_out.compact();
        maybeFinish();
    }
}

void Peer::maybeFinish()
{
    if (m_phase != Phase::Active || m_core.state() != protocol::ServerConnection::State::Closed)
        return;
    if (m_peerEof) {
        die();
        return;
    }
    if (m_core.peerClosedFirst() && !m_readable && !m_hungUp && !m_tls) {
        // The peer started the closing handshake and our answer is written: it sends no more (§5.5.1),
        // and its receive queue here was empty at our last read, so close() sends FIN behind our close
        // frame, not a reset, and the half-close + wait for its FIN + final read are not needed
        // (three system calls of a connect/echo/close cycle's ~15). RFC 6455 §7.1.1: we close first.
        die();
        return;
    }
    // RFC 6455 §7.1.1: the server closes TCP first; shut our side down, then wait for the peer's FIN
    // (closing with unread input would send RST and could destroy our close frame in flight).
    transport().shutdown();
    m_phase = Phase::Linger;
    m_deadline = m_worker.now() + m_config->lingerMs;
    readSome();
}

QAbstractSocket::SocketError Peer::transportError() const
{
    if (!m_tls && (m_plain.lastErrno() == ECONNRESET || m_plain.lastErrno() == EPIPE))
        return QAbstractSocket::RemoteHostClosedError;
    return QAbstractSocket::NetworkError;
}

void Peer::die(QAbstractSocket::SocketError error)
{
    if (m_phase == Phase::Dead)
        return;
    // Once the closing handshake is over (a close code was exchanged), how TCP ends — FIN, or a
    // peer that resets right after its close frame — is no error.
    const bool handshakeClosed = m_phase == Phase::Linger
            || (m_core.state() == protocol::ServerConnection::State::Closed && m_core.closeCode() != 1006);
    if (handshakeClosed)
        error = QAbstractSocket::UnknownSocketError;
    if (!m_opened && claimFailureReport())   // the handshake had not completed; nothing said why yet
        reportFailure(WebSocketServer::HandshakeFailure::ConnectionLost, connectionLostText(error));
    m_phase = Phase::Dead;
    if (m_opened) {
        InEvent last;
        last.kind = InEvent::Kind::Disconnected;
        last.code = m_core.closeCode();
        last.text = QString::fromStdString(m_core.closeReason());
        if (error == QAbstractSocket::UnknownSocketError && m_peerEof && last.code == 1006)
            error = QAbstractSocket::RemoteHostClosedError;   // TCP ended without a closing handshake
        last.error = error;
        m_channel->peer = nullptr;
        bool queuePost = false;
        m_channel->finish(std::move(last), queuePost);
        if (queuePost)
            m_worker.queuePost(m_channel);
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
        const State state = m_core.state();
        if (state == State::Handshake || state == State::AwaitingDecision) {
            if (m_deadline)
                when = m_deadline;
            break;
        }
        if (m_deadline)
            when = std::min(when, m_deadline);
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
    if (m_worker.levelTriggered())
        rearm();
}

void Peer::rearm()
{
    // Level-triggered polling: ask only for what we wait for, or poll() reports it again at once.
    // Readable: we saw EAGAIN and may read (not paused, not blocked by the inbound queue), or a TLS
    // write needs input. Writable: output is pending and the socket was full, or a TLS read needs
    // to write. In the TLS handshake the flags hold exactly what handshake() asked for.
    std::uint32_t want = 0;
    if (m_phase == Phase::Transport) {
        want = (m_readable ? 0u : std::uint32_t(Poller::Readable)) | (m_writable ? 0u : std::uint32_t(Poller::Writable));
    } else {
        if ((!m_readable && !m_readWantsWrite && mayRead()) || m_writeWantsRead)
            want |= Poller::Readable;
        if ((!m_writable && !m_writeWantsRead && !m_out.isEmpty()) || m_readWantsWrite)
            want |= Poller::Writable;
    }
    if (want != m_interest) {
        m_interest = std::uint8_t(want);
        m_worker.setInterest(this, want);
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
            if (claimFailureReport())
                reportFailure(WebSocketServer::HandshakeFailure::Timeout,
                              QStringLiteral("the TLS handshake did not complete within %1 ms")
                                      .arg(m_config->handshakeTimeoutMs));
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
        const State state = m_core.state();
        if (state == State::Handshake || state == State::AwaitingDecision) {
            if (m_deadline && now >= m_deadline) {
                qCDebug(lcServer) << "handshake timed out";
                m_core.handshakeTimedOut();
                afterCore();
            }
            break;
        }
        if (m_deadline && now >= m_deadline) {
            qCDebug(lcServer) << "peer did not answer our close frame in time";
            die();
            return;
        }
        if (state != State::Open)
            break;
        if (m_config->idleTimeoutMs > 0 && now - m_lastActivity >= m_config->idleTimeoutMs) {
            m_core.close(1001, "idle timeout");
            m_deadline = now + m_config->closeTimeoutMs;
            collectOutput(false);
            flush();
            break;
        }
        if (m_config->keepAliveMs > 0 && now >= std::max(m_lastActivity, m_lastKeepAlive) + m_config->keepAliveMs) {
            if (m_core.sendPing()) {
                rememberPing({std::string(), steadyMicroseconds(), true});
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
        if (claimFailureReport())
            reportFailure(WebSocketServer::HandshakeFailure::ConnectionLost,
                          QStringLiteral("the server closed during the TLS handshake"));
        die();
        return;
    }
    if (m_phase != Phase::Active)
        return;
    const State state = m_core.state();
    if (state == State::Handshake || state == State::AwaitingDecision) {
        if (claimFailureReport())
            reportFailure(WebSocketServer::HandshakeFailure::ConnectionLost,
                          QStringLiteral("the server closed during the opening handshake (HTTP 503 sent)"));
        m_core.reject(protocol::Error::HandshakeServerFull, "server is shutting down");
        afterCore();
    } else if (state == State::Open) {
        m_core.close(1001, "server closed");
        m_deadline = m_worker.now() + m_config->closeTimeoutMs;
        collectOutput(false);
        flush();
    }
    reschedule();
}

void Peer::abortNow()
{
    m_failureReported = true;   // the server is being destroyed: nobody is left to tell
    if (m_phase == Phase::Active && m_core.state() == protocol::ServerConnection::State::Open) {
        m_core.close(1001, "server closed");
        collectOutput(false);
        m_writable = true;
        flush();   // one attempt; whatever the kernel takes
    }
    die();
}

} // namespace qws
