// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServerPrivate: settings, the listener, the engine threads, the pending queue, errors.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "listener_p.h"
#include "websocketserver.h"
#include "worker_p.h"

#include <QtCore/QQueue>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace qws {

class Channel;
class WebSocket;

/// Something an engine thread reports to the server's thread (one posted QEvent per batch).
struct ServerEvent {
    enum class Kind { NewConnection, ServerError, AcceptError, Drained, SslErrors, PeerVerifyError, HandshakeFailed };
    Kind kind = Kind::NewConnection;
    std::shared_ptr<Channel> channel;
    WebSocketProtocol::CloseCode code = WebSocketProtocol::CloseCodeNormal;
    QAbstractSocket::SocketError socketError = QAbstractSocket::UnknownSocketError;
    QString text;
    QList<QSslError> sslErrors;
    int worker = -1;
    SocketAddress peer;                                   ///< HandshakeFailed
    WebSocketServer::HandshakeFailure failure = WebSocketServer::HandshakeFailure::BadRequest;
};

class WebSocketServerPrivate final : public WorkerHost, public TlsEvents
{
    Q_DECLARE_PUBLIC(WebSocketServer)
public:
    WebSocketServerPrivate(const QString &serverName, WebSocketServer::SslMode mode);
    ~WebSocketServerPrivate() override;

    static QEvent::Type serverEventType();

    // ---- owner thread --------------------------------------------------------------------------
    bool startListening(const QHostAddress &address, quint16 port);
    bool adoptListener(qintptr descriptor);
    void stopListening();
    void close();
    void shutdownNow();               // the destructor: every connection ends at once
    bool ensureEngine();
    void stopEngine();
    bool makeTls(QString &errorString);
    void rebuildConfig();
    void setError(WebSocketProtocol::CloseCode code, const QString &text, bool emitSignal = true);
    void processEvents();
    /// Reposts the batches of `round` one by one (the round cannot be delivered: the server is going).
    static void abandonRound(std::vector<std::shared_ptr<Channel>> &round);
    void dropPending();
    Worker *nextWorker();

    // ---- WorkerHost (engine threads) -----------------------------------------------------------
    std::shared_ptr<const EngineConfig> config() const override;
    bool authorizeOrigin(const QString &origin) override;
    bool reservePending() override;
    bool ownerBehind() const override;
    void pendingQueueFull() override;
    void connectionOpened(std::shared_ptr<Channel> channel) override;
    void connectionClosed() override;
    void acceptError(QAbstractSocket::SocketError error, const QString &text) override;
    void tlsHandshakeFailed(const QString &reason) override;
    bool wantsHandshakeFailures() const override;
    void handshakeFailed(const SocketAddress &peer, WebSocketServer::HandshakeFailure reason,
                         const QString &errorString) override;
    void workerDrained(Worker *worker) override;
    void deliverRound(std::vector<std::shared_ptr<Channel>> &&round) override;

    // ---- TlsEvents -----------------------------------------------------------------------------
    void sslErrors(const QList<QSslError> &errors) override;
    void peerVerifyError(const QSslError &error) override;
    void preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator) override;

    void post(ServerEvent &&event);
    /// Posts the one event that makes the server's thread run processEvents() (m_eventMutex held).
    void postServerEvent();

    WebSocketServer *q_ptr = nullptr;

    // Settings (owner thread; copied into EngineConfig snapshots for the engine).
    QString serverName;
    const WebSocketServer::SslMode secureMode;
    std::chrono::milliseconds handshakeTimeout{defaults::kHandshakeTimeoutMs};
    int maxPendingConnections = defaults::kMaxPendingConnections;
    QNetworkProxy proxy{QNetworkProxy::DefaultProxy};
    QSslConfiguration sslConfiguration;
    QStringList subprotocols;
    int workerThreadCount;
    CompressionOptions compression;
    std::shared_ptr<const EngineMessageHandler> engineMessageHandler;   ///< one object, shared by the snapshots
    qint64 maxMessageSize = defaults::kMaxMessageSize;
    qint64 maxFrameSize = defaults::kMaxFrameSize;
    QStringList allowedOrigins;
    std::chrono::milliseconds keepAliveInterval{0};
    std::chrono::milliseconds idleTimeout{0};
    qint64 maxInboundQueue = defaults::kMaxInboundQueue;
    qint64 maxOutboundQueue = defaults::kMaxOutboundQueue;
    OutboundPolicy outboundPolicy = OutboundPolicy::CloseConnection;

    WebSocketProtocol::CloseCode error = WebSocketProtocol::CloseCodeNormal;
    QString errorString;

    Listener listener;
    std::vector<std::shared_ptr<Worker>> workers;   // shared: a deferred wake-up may hold one
    std::vector<bool> drained;
    bool closing = false;
    unsigned roundRobin = 0;
    QQueue<WebSocket *> pending;
    std::shared_ptr<TlsContext> tls;

    /// Sockets in `pending` (announced by newConnection(), not taken): what maxPendingConnections bounds.
    std::atomic<int> pendingCount{0};
    /// Handshakes done on an engine thread that the server's thread has not seen yet; bounded like a
    /// listen backlog so an owner thread that stalls during a connection storm cannot make it grow.
    std::atomic<int> inFlight{0};
    static constexpr int kMaxInFlight = 1024;
    /// Past this many, the workers pause accepting (ownerBehind()), well before kMaxInFlight refuses.
    static constexpr int kAcceptPauseInFlight = kMaxInFlight / 2;
    std::atomic<int> openCount{0};
    std::atomic<quint64> tlsFailures{0};
    /// Connections to handshakeFailed(), counted by connectNotify/disconnectNotify (any thread; Qt may
    /// hold its connection lock there, so isSignalConnected() cannot be asked then). A count left too
    /// high (disconnect() of everything, a receiver destroyed) only costs collection until the next
    /// failure reaches the server's thread, which recounts.
    std::atomic<int> handshakeFailureListeners{0};
    std::atomic<quint64> droppedHandshakeFailures{0};

private:
    mutable std::mutex m_configMutex;
    std::shared_ptr<const EngineConfig> m_config;
    std::mutex m_eventMutex;
    std::vector<ServerEvent> m_events;
    std::vector<std::shared_ptr<Channel>> m_round;   // channels with batches outstanding (deliverRound())
    bool m_eventPosted = false;
    std::atomic<bool> m_roundPending{false};         // an engine thread queued server events to flush
    int m_failuresQueued = 0;   // HandshakeFailed events in m_events: at most kMaxHandshakeFailuresPerBatch
    quint64 m_failuresDropped = 0;   // since the last batch was taken (logged then)
};

} // namespace qws
