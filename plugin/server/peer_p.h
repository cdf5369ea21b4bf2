// SPDX-License-Identifier: BSD-3-Clause
// The engine side of one connection: a Transport, the sans-I/O core, unsent bytes and deadlines.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "eventbatch_p.h"
#include "outqueue_p.h"
#include "plaintransport_p.h"

#include <protocol/connection.h>

#include <QtCore/QByteArray>
#include <QtNetwork/QAbstractSocket>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qws {

class EngineMessage;
class Transport;
class Worker;
struct EngineConfig;

/// Lives on one worker thread, which alone touches it. Never deletes itself: die() hands it to
/// Worker::retire(), which frees it after the current loop iteration.
///
/// One heap block per connection on the engine side besides the Channel: the protocol core and, on a
/// plain connection, the TCP transport are members, not blocks of their own (an idle connection pays
/// for every block's malloc header and rounding). A TLS connection's transport is its own object.
class Peer
{
public:
    /// `tls` null: a plain connection on `fd` (the Peer closes it); otherwise the TLS transport,
    /// which owns `fd`. The addresses go straight into the Channel's ConnectionInfo (kept once).
    Peer(Worker &worker, int fd, std::unique_ptr<Transport> tls, std::shared_ptr<const EngineConfig> config,
         const SocketAddress &peer, const SocketAddress &local);
    ~Peer();
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    int fd() const;
    /// Begins: transport handshake, then `initialBytes` (handleConnection()) as if just read.
    void start(const QByteArray &initialBytes);
    /// Readiness from the worker's Poller (Poller::Readable | Writable): edge-triggered with epoll,
    /// level-triggered with poll (then reschedule() keeps the interest to what the peer waits for).
    void onEvents(std::uint32_t events);
    /// Continue reading after the fairness budget ran out.
    void onReady();
    /// The owner queued commands or changed a flag (Channel::submit / setUserPaused / takeEvents).
    void onCommands();
    void onTimer();
    /// close() of the server: 1001 to an open connection, 503 to one in its handshake.
    void shutdownGracefully();
    /// Destruction of the server: 1001 best effort, socket closed now.
    void abortNow();

    // Worker bookkeeping.
    qint64 timerWhen = std::numeric_limits<qint64>::max();
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
    bool isDead() const { return m_phase == Phase::Dead; }
    bool hasUnsentOutput() const { return !m_out.isEmpty(); }
    static qint64 steadyMicroseconds();

private:
    friend class EngineMessage;
    enum class Phase : std::uint8_t {
        Transport, ///< TLS handshake (plain TCP passes at once)
        Active,    ///< WebSocket handshake, then frames, until the core is Closed and output flushed
        Linger,    ///< our side is shut down; discarding input until the peer's FIN (or a deadline)
        Dead,
    };
    struct PendingPing {
        std::string payload;
        qint64 stampUs;
        bool internal;   // a keepalive ping: its pong is not signalled
    };

    void pump();
    void driveTransport();
    void readSome();
    bool mayRead() const;
    /// Hands bytes to the protocol core; `inReadBlock`: they are a read of ReadBlocks::beginRead() that
    /// allowed adopting (large binary messages stay where they lie).
    void feed(const char *data, std::size_t size, bool inReadBlock = false);
    void afterCore();
    void decide();
    void openChannel();
    Transport &transport() { return m_tls ? *m_tls : static_cast<Transport &>(m_plain); }
    const Transport &transport() const { return m_tls ? *m_tls : static_cast<const Transport &>(m_plain); }
    /// Core events → InEvents in the worker's scratch; returns the payload bytes of the messages.
    qint64 translate(std::vector<protocol::Event> &events);
    /// The engine message handler (EngineConfig::messageHandler) sees `message`: the payload's size
    /// when it took the message, nothing when it declined. enginemessage.cpp, as is reply().
    std::optional<std::size_t> offerToHandler(protocol::Message &message);
    /// EngineMessage::sendText()/sendBinary(): frames `data` into the output on this thread (`shared`:
    /// the same bytes as a QByteArray that may be kept; `validated`: text known to be UTF-8).
    bool reply(bool text, QByteArrayView data, const QByteArray *shared, bool validated);
    /// Adds the replies' Worker::ReplyTally to the connection's counters (after the handler's calls).
    void countReplies();
    /// Starts the closing handshake with `code` (dropping unsent messages first when `discardQueued`);
    /// false when the code cannot be sent and the connection was dropped instead.
    bool beginClose(quint16 code, std::string_view reason, bool discardQueued);
    void rememberPing(PendingPing ping);
    void onPong(std::string &payload);
    void collectOutput(bool accounted);
    void sendData(OutCommand &command);
    void flush();
    void maybeFinish();
    void die(QAbstractSocket::SocketError error = QAbstractSocket::UnknownSocketError);
    void reschedule();   // the next deadline, and (level-triggered poller) the fd's interest
    void rearm();
    qint64 nextDeadline() const;
    QAbstractSocket::SocketError transportError() const;
    /// Claims this peer's one handshake-failure report (WebSocketServer::handshakeFailed()); true
    /// when the owner listens, so the caller builds the text only then. peerprotocol.cpp.
    bool claimFailureReport();
    void reportFailure(WebSocketServer::HandshakeFailure reason, const QString &text);
    void reportHandshakeError(protocol::Error error, int status);
    QString connectionLostText(QAbstractSocket::SocketError error) const;

    Worker &m_worker;
    /// The engine's settings snapshot. Not a shared_ptr of its own: m_core holds an aliasing one to the
    /// same snapshot (its connection settings), which keeps all of it alive as long as this Peer.
    const EngineConfig *m_config;
    /// Made with the Peer, so the addresses live once (in its ConnectionInfo); handed to the owner's
    /// thread only once the handshake is accepted (m_opened).
    std::shared_ptr<Channel> m_channel;
    std::unique_ptr<Transport> m_tls;   // TLS only
    PlainTransport m_plain;             // plain only (fd -1 on a TLS connection)
    protocol::ServerConnection m_core;
    OutQueue m_out;
    /// Pings awaiting their pong (at most 32): allocated by a ping, freed when the last one is
    /// answered, so an idle connection (keepalive or not) pays 8 bytes here, not a vector and its
    /// capacity.
    std::unique_ptr<std::vector<PendingPing>> m_pings;
    qint64 m_lastActivity = 0;
    qint64 m_lastKeepAlive = 0;
    /// One deadline at a time, by phase: the handshake's (Transport, and Active until the 101), then
    /// 0 while open, then the close timeout's (our close frame sent: drop TCP if the peer does not
    /// answer), then the linger's (Linger).
    qint64 m_deadline = 0;
    // Members are ordered by alignment (8, then the bits): one Peer per connection, so padding costs
    // per connection. The flags are bits (only this Peer's engine thread reads or writes them).
public:
    bool readyQueued : 1 = false;      // worker bookkeeping
    bool soleDescriptor : 1 = false;   // worker bookkeeping: we accepted fd(), nothing else refers to it
private:
    bool m_readable : 1 = true;
    bool m_writable : 1 = true;
    bool m_readWantsWrite : 1 = false;
    bool m_writeWantsRead : 1 = false;
    bool m_inboundBlocked : 1 = false;
    bool m_peerEof : 1 = false;
    bool m_hungUp : 1 = false;            // Poller::HangUp seen: read on to EAGAIN or EOF (readSome())
    bool m_failureReported : 1 = false;   // handshake failure claimed (reported or nobody listening)
    bool m_opened : 1 = false;            // the handshake was accepted: the owner has the Channel
    Phase m_phase = Phase::Transport;
    std::uint8_t m_interest = 0;   // level-triggered poller: what the fd is polled for now
};

} // namespace qws
