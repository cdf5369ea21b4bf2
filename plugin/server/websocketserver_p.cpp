// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServerPrivate: engine lifetime, the engine → server event queue, the WorkerHost hooks.
#include "websocketserver_p.h"

#include "corsauthenticator.h"
#include "eventbatch_p.h"
#include "logging_p.h"
#include "websocket.h"
#include "websocket_p.h"
#ifdef QWS_HAVE_TLS
#  include "tls_p.h"
#endif

#include <QtCore/QCoreApplication>
#include <QtCore/QMetaMethod>
#include <QtCore/QPointer>
#include <QtCore/QScopeGuard>
#include <QtCore/QThread>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#ifdef __GLIBC__
#  include <malloc.h>
#endif

namespace qws {

WebSocketServerPrivate::WebSocketServerPrivate(const QString &name, WebSocketServer::SslMode mode)
    : serverName(name)
    , secureMode(mode)
    , workerThreadCount(qMax(1, QThread::idealThreadCount()))
{
    rebuildConfig();
}

WebSocketServerPrivate::~WebSocketServerPrivate() = default;

QEvent::Type WebSocketServerPrivate::serverEventType()
{
    static const QEvent::Type type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

// ---- configuration -----------------------------------------------------------------------------

void WebSocketServerPrivate::rebuildConfig()
{
    auto config = std::make_shared<EngineConfig>();
    protocol::ConnectionConfig &connection = config->connection;
    connection.serverName = serverName.toStdString();
    for (const QString &subprotocol : std::as_const(subprotocols))
        connection.subprotocols.push_back(subprotocol.toStdString());
    connection.messages.maxMessageSize = std::uint64_t(qMax<qint64>(0, maxMessageSize));
    connection.messages.maxFrameSize = std::uint64_t(qMax<qint64>(0, maxFrameSize));
    connection.messages.deliverFragments = false;
    connection.deflate.enabled = compression.enabled;
    connection.deflate.serverMaxWindowBits = qBound(8, compression.serverMaxWindowBits, 15);
    connection.deflate.clientMaxWindowBits = qBound(8, compression.clientMaxWindowBits, 15);
    connection.deflate.serverNoContextTakeover = compression.serverNoContextTakeover;
    connection.deflate.clientNoContextTakeover = compression.clientNoContextTakeover;
    connection.deflate.compressionLevel = qBound(1, compression.level, 9);
    connection.deflate.minMessageSize = std::size_t(qMax(0, compression.minMessageSize));
    config->handshakeTimeoutMs = handshakeTimeout.count();
    config->maxPendingConnections = maxPendingConnections;
    config->keepAliveMs = keepAliveInterval.count();
    config->idleTimeoutMs = idleTimeout.count();
    config->maxInboundQueue = maxInboundQueue;
    config->maxOutboundQueue = maxOutboundQueue;
    config->outboundPolicy = outboundPolicy;
    config->messageHandler = engineMessageHandler;
    config->allowedOrigins = allowedOrigins;
    config->secure = secureMode == WebSocketServer::SecureMode;
    config->tls = tls;
    std::lock_guard lock(m_configMutex);
    m_config = std::move(config);
}

std::shared_ptr<const EngineConfig> WebSocketServerPrivate::config() const
{
    std::lock_guard lock(m_configMutex);
    return m_config;
}

bool WebSocketServerPrivate::makeTls(QString &errorString)
{
    if (secureMode != WebSocketServer::SecureMode)
        return true;
#ifdef QWS_HAVE_TLS
    std::shared_ptr<TlsContext> context = makeTlsContext(sslConfiguration, *this, errorString);
    if (!context)
        return false;
    tls = std::move(context);
    rebuildConfig();
    return true;
#else
    errorString = QStringLiteral("TLS support is not built into this QuickWebSockets library");
    return false;
#endif
}

void WebSocketServerPrivate::setError(WebSocketProtocol::CloseCode code, const QString &text, bool emitSignal)
{
    error = code;
    errorString = text;
    if (emitSignal && code != WebSocketProtocol::CloseCodeNormal)
        Q_EMIT q_func()->serverError(code);
}

// ---- the engine ----------------------------------------------------------------------------------

/// Engine threads allocate every message in their own malloc arena and free it as soon as it is
/// written; between two waves the arena is empty, and glibc's default (give memory back above
/// 128 KiB free at the top, mmap above 128 KiB) makes each wave fault its pages in again: measured,
/// 16 KiB echo ran at 1/7 of its speed. Keep up to 64 MiB free per arena and serve messages up to
/// 32 MiB from the heap. Process-wide, once; QWS_MALLOC_TUNING=0 or any glibc.malloc tunable set by
/// the user leaves malloc alone.
static void tuneMallocOnce()
{
#ifdef __GLIBC__
    static std::once_flag once;
    std::call_once(once, [] {
        const char *opt = std::getenv("QWS_MALLOC_TUNING");
        const char *tunables = std::getenv("GLIBC_TUNABLES");
        if ((opt && std::strcmp(opt, "0") == 0) || (tunables && std::strstr(tunables, "glibc.malloc")))
            return;
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
        qCDebug(lcServer) << "malloc tuned for the engine (QWS_MALLOC_TUNING=0 disables)";
    });
#endif
}

bool WebSocketServerPrivate::ensureEngine()
{
    if (!workers.empty())
        return true;
    tuneMallocOnce();
    const int count = qMax(1, workerThreadCount);
    for (int i = 0; i < count; ++i) {
        auto worker = std::make_shared<Worker>(*this, i);
        QString failure;
        if (!worker->start(&failure)) {
            workers.clear();
            setError(WebSocketProtocol::CloseCodeAbnormalDisconnection, failure);
            return false;
        }
        workers.push_back(std::move(worker));
    }
    drained.assign(workers.size(), false);
    qCDebug(lcServer) << "engine started with" << count << "thread(s)";
    return true;
}

void WebSocketServerPrivate::stopEngine()
{
    for (auto &worker : workers)
        worker->stop();
    workers.clear();
    drained.clear();
}

Worker *WebSocketServerPrivate::nextWorker()
{
    if (workers.empty())
        return nullptr;
    return workers[roundRobin++ % workers.size()].get();
}

bool WebSocketServerPrivate::startListening(const QHostAddress &address, quint16 port)
{
    stopListening();
    QString tlsError;
    if (!makeTls(tlsError)) {
        setError(WebSocketProtocol::CloseCodeTlsHandshakeFailed, tlsError);
        return false;
    }
    if (!listener.listen(address, port)) {
        setError(WebSocketProtocol::CloseCodeAbnormalDisconnection, listener.errorString());
        return false;
    }
    if (!ensureEngine()) {
        listener.close();
        return false;
    }
    if (closing) {
        // A graceful close() was still draining: it is cut short by this listen().
        closing = false;
        Q_EMIT q_func()->closed();
    }
    for (auto &worker : workers)
        worker->setListener(listener.fd());
    setError(WebSocketProtocol::CloseCodeNormal, QString(), false);
    return true;
}

bool WebSocketServerPrivate::adoptListener(qintptr descriptor)
{
    stopListening();
    QString tlsError;
    if (!makeTls(tlsError)) {
        setError(WebSocketProtocol::CloseCodeTlsHandshakeFailed, tlsError);
        return false;
    }
    if (!listener.adopt(descriptor)) {
        setError(WebSocketProtocol::CloseCodeAbnormalDisconnection, listener.errorString());
        return false;
    }
    if (!ensureEngine()) {
        listener.close();
        return false;
    }
    closing = false;
    for (auto &worker : workers)
        worker->setListener(listener.fd());
    return true;
}

void WebSocketServerPrivate::stopListening()
{
    if (!listener.isListening())
        return;
    for (auto &worker : workers)
        worker->setListener(-1);   // blocks until no worker polls the fd any more
    listener.close();
}

void WebSocketServerPrivate::dropPending()
{
    while (!pending.isEmpty()) {
        delete pending.dequeue();   // its connection gets 1001 from the engine
        pendingCount.fetch_sub(1, std::memory_order_relaxed);
    }
}

void WebSocketServerPrivate::close()
{
    stopListening();
    dropPending();
    if (workers.empty()) {
        Q_EMIT q_func()->closed();
        return;
    }
    closing = true;
    drained.assign(workers.size(), false);
    for (auto &worker : workers)
        worker->beginShutdown();
}

void WebSocketServerPrivate::shutdownNow()
{
    stopListening();
    stopEngine();
    dropPending();
    // Qt drops the server's posted round event with the server: its sockets get their batches the usual way.
    std::vector<std::shared_ptr<Channel>> round;
    {
        std::lock_guard lock(m_eventMutex);
        round.swap(m_round);
    }
    abandonRound(round);
}

// ---- engine → server events ----------------------------------------------------------------------

void WebSocketServerPrivate::post(ServerEvent &&event)
{
    std::unique_lock lock(m_eventMutex);
    if (event.kind == ServerEvent::Kind::HandshakeFailed) {
        // A flood of failed handshakes (a slowloris, a scanner) must not become unbounded memory or
        // an unbounded burst of signals: at most kMaxHandshakeFailuresPerBatch wait for the owner,
        // the rest are counted (droppedHandshakeFailureCount()) and summarised on qws.server.
        if (m_failuresQueued >= WebSocketServer::kMaxHandshakeFailuresPerBatch) {
            ++m_failuresDropped;
            droppedHandshakeFailures.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        ++m_failuresQueued;
    }
    m_events.push_back(std::move(event));
    if (Worker::onEngineThread()) {
        m_roundPending.store(true, std::memory_order_relaxed);   // posted at the end of the iteration
        return;
    }
    if (!m_eventPosted) {
        m_eventPosted = true;
        lock.unlock();   // see deliverRound()
        postServerEvent();
    }
}

void WebSocketServerPrivate::postServerEvent()
{
    auto *event = new QEvent(serverEventType());
    tsanRelease(event);   // made here, read on the server's thread (WebSocketServer::event())
    postEngineEvent(q_ptr, event);
}

void WebSocketServerPrivate::deliverRound(std::vector<std::shared_ptr<Channel>> &&round)
{
    if (round.empty() && !m_roundPending.load(std::memory_order_relaxed))
        return;
    {
        std::lock_guard lock(m_eventMutex);
        m_roundPending.store(false, std::memory_order_relaxed);
        if (m_round.empty())
            m_round = std::move(round);
        else
            std::move(round.begin(), round.end(), std::back_inserter(m_round));
        if (m_eventPosted || (m_events.empty() && m_round.empty()))
            return;
        m_eventPosted = true;
    }
    // Posted after the lock is released: the post wakes the server's thread, which on a shared core
    // runs at once and would only block on this lock in processEvents() (measured: ~1 futex wait and
    // 2 extra context switches per round of the 64-byte echo). m_eventPosted keeps it to one event;
    // the server outlives this call (it joins its engine threads before it goes).
    postServerEvent();
}

void WebSocketServerPrivate::abandonRound(std::vector<std::shared_ptr<Channel>> &round)
{
    for (const std::shared_ptr<Channel> &channel : round)
        channel->repost();
}

void WebSocketServerPrivate::processEvents()
{
    Q_Q(WebSocketServer);
    std::vector<ServerEvent> events;
    std::vector<std::shared_ptr<Channel>> round;
    quint64 dropped = 0;
    {
        std::lock_guard lock(m_eventMutex);
        events.swap(m_events);
        round.swap(m_round);
        m_eventPosted = false;
        m_failuresQueued = 0;
        dropped = std::exchange(m_failuresDropped, 0);
    }
    if (dropped)
        qCInfo(lcServer) << dropped << "handshake failures not signalled (more than"
                         << WebSocketServer::kMaxHandshakeFailuresPerBatch << "in one batch)";
    QPointer<WebSocketServer> guard(q);
    // The batches of the round go out after the server events of the same iterations (sockets made
    // by NewConnection are not claimed yet, so none of them is in the round), with the engine wake-ups
    // of every slot in the round deferred to one flush. A slot deleting the server does not stop
    // them: the sockets live on their own.
    const auto deliverBatches = qScopeGuard([&round] {
        Channel::beginOwnerBatch();
        for (const std::shared_ptr<Channel> &channel : round) {
            if (QObject *target = channel->takeRoundTurn())
                WebSocketPrivate::deliverBatch(target);
        }
        Channel::endOwnerBatch();
    });
    for (ServerEvent &event : events) {
        if (!guard)
            return;
        switch (event.kind) {
        case ServerEvent::Kind::NewConnection: {
            inFlight.fetch_sub(1, std::memory_order_acq_rel);
            auto *socket = WebSocketPrivate::create(std::move(event.channel), q);
            if (closing) {
                // Its handshake finished while close() ran: it gets 1001 like every other one.
                delete socket;
                break;
            }
            pending.enqueue(socket);
            pendingCount.fetch_add(1, std::memory_order_acq_rel);
            Q_EMIT q->newConnection();
            break;
        }
        case ServerEvent::Kind::ServerError:
            setError(event.code, event.text);
            break;
        case ServerEvent::Kind::AcceptError:
            Q_EMIT q->acceptError(event.socketError);
            break;
        case ServerEvent::Kind::SslErrors:
            Q_EMIT q->sslErrors(event.sslErrors);
            break;
        case ServerEvent::Kind::PeerVerifyError:
            if (!event.sslErrors.isEmpty())
                Q_EMIT q->peerVerifyError(event.sslErrors.constFirst());
            break;
        case ServerEvent::Kind::HandshakeFailed:
            if (static const QMetaMethod signal = QMetaMethod::fromSignal(&WebSocketServer::handshakeFailed);
                !q->isSignalConnected(signal)) {
                handshakeFailureListeners.store(0, std::memory_order_relaxed);   // a stale count
                break;
            }
            Q_EMIT q->handshakeFailed(event.peer.toHostAddress(), event.peer.port, event.failure, event.text);
            break;
        case ServerEvent::Kind::Drained:
            if (!closing || event.worker < 0 || std::size_t(event.worker) >= drained.size())
                break;
            drained[std::size_t(event.worker)] = true;
            if (std::all_of(drained.begin(), drained.end(), [](bool b) { return b; })) {
                closing = false;
                stopEngine();
                qCDebug(lcServer) << "closed: every connection ended";
                Q_EMIT q->closed();
            }
            break;
        }
    }
}

// ---- WorkerHost (engine threads) -----------------------------------------------------------------

bool WebSocketServerPrivate::authorizeOrigin(const QString &origin)
{
    const std::shared_ptr<const EngineConfig> current = config();
    // RFC 6454 §6.2: scheme and host of a serialized origin are lowercase; compare without case.
    if (!current->allowedOrigins.isEmpty() && !current->allowedOrigins.contains(origin, Qt::CaseInsensitive))
        return false;
    static const QMetaMethod signal = QMetaMethod::fromSignal(&WebSocketServer::originAuthenticationRequired);
    if (!q_ptr->isSignalConnected(signal))
        return true;
    // On the heap and handed to the server's thread for deletion: a slot connected with a queued
    // connection by mistake still finds a live object (its answer comes too late to count).
    auto *authenticator = new CorsAuthenticator(origin);
    Q_EMIT q_ptr->originAuthenticationRequired(authenticator);
    const bool allowed = authenticator->allowed();
    authenticator->moveToThread(q_ptr->thread());
    tsanRelease(authenticator);   // deleted on the server's thread, after Qt's postEvent
    deleteLaterAmongEnginePosts(authenticator);
    return allowed;
}

bool WebSocketServerPrivate::reservePending()
{
    // Only what the server's thread has seen counts against maxPendingConnections: with the usual
    // "take it in the newConnection() slot" pattern, QWebSocketServer (whose handshakes run on its
    // own thread) never refuses a connection storm, so neither may we.
    if (pendingCount.load(std::memory_order_acquire) >= config()->maxPendingConnections)
        return false;
    if (inFlight.fetch_add(1, std::memory_order_acq_rel) >= kMaxInFlight) {
        inFlight.fetch_sub(1, std::memory_order_acq_rel);
        return false;
    }
    return true;
}

bool WebSocketServerPrivate::ownerBehind() const
{
    return inFlight.load(std::memory_order_relaxed) >= kAcceptPauseInFlight;
}

void WebSocketServerPrivate::pendingQueueFull()
{
    ServerEvent event;
    event.kind = ServerEvent::Kind::ServerError;
    event.code = WebSocketProtocol::CloseCodeAbnormalDisconnection;
    event.text = QStringLiteral("Too many pending connections.");
    post(std::move(event));
}

void WebSocketServerPrivate::connectionOpened(std::shared_ptr<Channel> channel)
{
    openCount.fetch_add(1, std::memory_order_relaxed);
    ServerEvent event;
    event.kind = ServerEvent::Kind::NewConnection;
    event.channel = std::move(channel);
    post(std::move(event));
}

void WebSocketServerPrivate::connectionClosed()
{
    openCount.fetch_sub(1, std::memory_order_relaxed);
}

void WebSocketServerPrivate::acceptError(QAbstractSocket::SocketError socketError, const QString &text)
{
    ServerEvent event;
    event.kind = ServerEvent::Kind::AcceptError;
    event.socketError = socketError;
    event.text = text;
    post(std::move(event));
}

void WebSocketServerPrivate::tlsHandshakeFailed(const QString &reason)
{
    tlsFailures.fetch_add(1, std::memory_order_relaxed);
    qCInfo(lcTls) << "TLS handshake failed:" << reason;
}

bool WebSocketServerPrivate::wantsHandshakeFailures() const
{
    return handshakeFailureListeners.load(std::memory_order_relaxed) > 0;
}

void WebSocketServerPrivate::handshakeFailed(const SocketAddress &peer, WebSocketServer::HandshakeFailure reason,
                                             const QString &errorString)
{
    qCDebug(lcServer) << "handshake failed:" << reason << errorString;
    ServerEvent event;
    event.kind = ServerEvent::Kind::HandshakeFailed;
    event.peer = peer;
    event.failure = reason;
    event.text = errorString;
    post(std::move(event));
}

void WebSocketServerPrivate::workerDrained(Worker *worker)
{
    ServerEvent event;
    event.kind = ServerEvent::Kind::Drained;
    event.worker = worker->index();
    post(std::move(event));
}

// ---- TlsEvents -------------------------------------------------------------------------------------

void WebSocketServerPrivate::sslErrors(const QList<QSslError> &errors)
{
    ServerEvent event;
    event.kind = ServerEvent::Kind::SslErrors;
    event.sslErrors = errors;
    post(std::move(event));
}

void WebSocketServerPrivate::peerVerifyError(const QSslError &sslError)
{
    ServerEvent event;
    event.kind = ServerEvent::Kind::PeerVerifyError;
    event.sslErrors = {sslError};
    post(std::move(event));
}

void WebSocketServerPrivate::preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator)
{
    Q_EMIT q_ptr->preSharedKeyAuthenticationRequired(authenticator);
}

} // namespace qws
