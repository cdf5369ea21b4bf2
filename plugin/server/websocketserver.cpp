// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocketServer: the public API (QWebSocketServer's, plus engine settings) and its qdoc.
#include "websocketserver.h"

#include "eventbatch_p.h"
#include "logging_p.h"
#include "websocket.h"
#include "websocket_p.h"
#include "websocketserver_p.h"

#include <QtCore/QMetaMethod>
#include <QtNetwork/QTcpSocket>

#include <fcntl.h>
#include <unistd.h>

namespace qws {

/*!
    \class qws::WebSocketServer
    \inmodule QuickWebSockets
    \brief A WebSocket server with QWebSocketServer's API, running on its own engine threads.

    Every function and signal of QWebSocketServer exists here with the same meaning and defaults, so
    C++ code can switch by changing the type name. Beyond the reference: permessage-deflate, limits,
    keepalive and idle timeouts, origin allow-lists, per-connection statistics and a graceful close().

    \section1 Threads
    Listening, accepting, TLS, reads, writes and all protocol work run on engine threads
    (setWorkerThreadCount(), default QThread::idealThreadCount()), never on the thread that owns the
    server. Signals of the server are emitted on its own thread, except originAuthenticationRequired()
    and preSharedKeyAuthenticationRequired(), which run on an engine thread so that the slot, connected
    with Qt::DirectConnection, can decide before the handshake goes on. Do not call the server's
    functions from such a slot.

    \section1 Ownership
    nextPendingConnection() hands the WebSocket to the caller. Deleting the server ends every
    connection: what was already sent is still written, in order, then 1001 Going Away, for at most
    2 s (peers that do not read lose the rest); call close() and wait for closed() for a graceful
    shutdown that also waits for each closing handshake.
*/

/*!
    \fn void qws::WebSocketServer::acceptError(QAbstractSocket::SocketError socketError)
    Emitted when accepting a new connection failed with \a socketError (SocketResourceError when the
    process ran out of descriptors; the engine retries after 100 ms).
*/
/*!
    \fn void qws::WebSocketServer::serverError(qws::WebSocketProtocol::CloseCode closeCode)
    Emitted with \a closeCode when the server fails: listen() could not listen
    (CloseCodeAbnormalDisconnection, or CloseCodeTlsHandshakeFailed for bad TLS material), or a
    handshake was refused because the pending queue was full (CloseCodeAbnormalDisconnection).
    errorString() says which.
*/
/*!
    \fn void qws::WebSocketServer::originAuthenticationRequired(qws::CorsAuthenticator *authenticator)
    Emitted for every handshake whose origin passed allowedOrigins(), on the engine thread running
    it. Connect with Qt::DirectConnection and call \a authenticator->setAllowed(false) to refuse
    with 403. Nothing connected: every origin is allowed. The slot holds up that engine thread (and
    its other connections) while it runs.
*/
/*!
    \fn void qws::WebSocketServer::newConnection()
    Emitted once per connection that completed its handshake and waits in nextPendingConnection().
*/
/*!
    \fn void qws::WebSocketServer::peerVerifyError(const QSslError &error)
    SecureMode: emitted with \a error for each problem found in a client certificate.
*/
/*!
    \fn void qws::WebSocketServer::sslErrors(const QList<QSslError> &errors)
    SecureMode: emitted with the \a errors of a client's TLS handshake.
*/
/*!
    \fn void qws::WebSocketServer::preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator)
    SecureMode with a PSK cipher: emitted on the engine thread (connect with Qt::DirectConnection);
    fill in \a authenticator's key before returning.
*/
/*!
    \fn void qws::WebSocketServer::closed()
    Emitted when close() has finished: every connection ended and the engine stopped.
*/
/*!
    \enum qws::WebSocketServer::HandshakeFailure
    Why handshakeFailed() was emitted.
    \value BadRequest The HTTP upgrade request was malformed or refused by the protocol core (400
           for a bad or oversized request, 405 for a method other than GET, 426 for a wrong
           Sec-WebSocket-Version); the error string names the problem and the status sent.
    \value Timeout handshakeTimeout() elapsed during the TLS or the HTTP phase (408 in the latter).
    \value OriginRefused allowedOrigins() or an originAuthenticationRequired() slot refused the
           origin (403).
    \value TlsFailed The TLS handshake failed (plain HTTP or garbage on a wss port, no shared
           protocol or cipher, a rejected client certificate); the error string is OpenSSL's reason.
           Also counted by tlsHandshakeFailureCount().
    \value ServerFull maxPendingConnections() was reached (503); serverError() is emitted as well.
    \value ConnectionLost The peer closed or reset the connection before the handshake completed, or
           the server closed while it was in progress.
*/
/*!
    \fn void qws::WebSocketServer::handshakeFailed(const QHostAddress &peerAddress, quint16 peerPort, qws::WebSocketServer::HandshakeFailure reason, const QString &errorString)
    Beyond QWebSocketServer: emitted on the server's thread when the opening handshake (TLS and
    HTTP) of the client at \a peerAddress:\a peerPort failed, with the \a reason and a specific
    \a errorString. On a dual-stack listener IPv4 peers appear as IPv4-mapped IPv6 addresses.

    Failures are collected only while this signal is connected, so an unwatched server pays nothing
    for them. They travel in the engine's batches: when more than kMaxHandshakeFailuresPerBatch
    arrive before the server's thread takes the previous batch (a flood of bad clients), the rest
    are not signalled but counted by droppedHandshakeFailureCount() and summarised on \c qws.server.
*/
/*!
    \fn void qws::WebSocketServer::textMessageReceived(qws::WebSocket *socket, const QString &message)
    Beyond QWebSocketServer: emitted for every text \a message of every \a socket taken with
    nextPendingConnection(), right after the socket's own WebSocket::textMessageReceived(), while the
    socket lives on the server's thread (a socket moved elsewhere only emits its own signals). One
    connection to this signal serves every socket: a server holding many connections saves the few
    hundred bytes per socket that its own connect()s would cost (see docs/benchmarks.md):
    \code
    connect(&server, &qws::WebSocketServer::textMessageReceived, &server,
            [](qws::WebSocket *socket, const QString &message) { socket->sendTextMessage(message); });
    \endcode
*/
/*!
    \fn void qws::WebSocketServer::binaryMessageReceived(qws::WebSocket *socket, const QByteArray &message)
    Beyond QWebSocketServer: the binary counterpart of textMessageReceived(), for \a socket and \a message.
*/
/*!
    \fn void qws::WebSocketServer::socketDisconnected(qws::WebSocket *socket)
    Beyond QWebSocketServer: emitted right after WebSocket::disconnected() of every \a socket taken with
    nextPendingConnection() that lives on the server's thread; the place to \c deleteLater() it when
    no per-socket connection does. Sockets outlive the server: after it is deleted they emit only
    their own signals.
*/

/*!
    Constructs a server named \a serverName (sent as the \c Server header) in \a secureMode
    (wss:// with SecureMode) with the given \a parent.
*/
WebSocketServer::WebSocketServer(const QString &serverName, SslMode secureMode, QObject *parent)
    : WebSocketServer(*new WebSocketServerPrivate(serverName, secureMode), parent)
{
}

/*! \internal */
WebSocketServer::WebSocketServer(WebSocketServerPrivate &dd, QObject *parent)
    : QObject(parent)
    , d_ptr(&dd)
{
    d_ptr->q_ptr = this;
}

/*!
    Destroys the server: the listening socket is closed, queued sockets nobody took are closed and
    deleted, and every other connection is ended: messages already sent are still written, then 1001,
    for at most 2 s before the sockets are closed (so an application that quits with messages queued
    delivers them). WebSockets already taken stay valid objects in the UnconnectedState.
*/
WebSocketServer::~WebSocketServer()
{
    Q_D(WebSocketServer);
    d->shutdownNow();
}

/*!
    Listens on \a address and \a port (0: any free port). QHostAddress::Any listens on IPv4 and IPv6.
    Returns \c false with error() and errorString() set when the port is in use, the port needs
    privileges, the address does not belong to this host, or (SecureMode) the TLS material is
    missing. The listener never goes through a proxy.
*/
bool WebSocketServer::listen(const QHostAddress &address, quint16 port)
{
    Q_D(WebSocketServer);
    return d->startListening(address, port);
}

/*!
    Closes the server gracefully: it stops accepting at once (isListening() becomes \c false),
    deletes the queued sockets nobody took, sends 1001 Going Away to every open connection, lets
    queued data flush and each closing handshake finish (at most 5 s per peer), then emits closed().
    Without any engine running, closed() is emitted before this returns.
*/
void WebSocketServer::close()
{
    Q_D(WebSocketServer);
    d->close();
}

/*! Returns \c true while the server listens for connections. */
bool WebSocketServer::isListening() const
{
    return d_func()->listener.isListening();
}

/*!
    Sets the most accepted connections that may wait for nextPendingConnection() to
    \a numConnections (default 30). Past it, the handshake is refused with 503, the socket closed and
    serverError(CloseCodeAbnormalDisconnection) emitted.
*/
void WebSocketServer::setMaxPendingConnections(int numConnections)
{
    Q_D(WebSocketServer);
    d->maxPendingConnections = qMax(0, numConnections);
    d->rebuildConfig();
}

/*! Returns the pending-connection limit (default 30). */
int WebSocketServer::maxPendingConnections() const
{
    return d_func()->maxPendingConnections;
}

/*!
    Sets the time a client has to complete its opening handshake (TLS included) to \a msec; a
    slower client gets 408 and is disconnected. Negative disables. Default 10 s. New connections only.
*/
void WebSocketServer::setHandshakeTimeout(std::chrono::milliseconds msec)
{
    Q_D(WebSocketServer);
    d->handshakeTimeout = msec;
    d->rebuildConfig();
}

/*! Returns the handshake timeout. */
std::chrono::milliseconds WebSocketServer::handshakeTimeout() const
{
    return d_func()->handshakeTimeout;
}

/*! \overload Sets the handshake timeout to \a msec milliseconds. */
void WebSocketServer::setHandshakeTimeout(int msec)
{
    setHandshakeTimeout(std::chrono::milliseconds(msec));
}

/*! Returns the handshake timeout in milliseconds. */
int WebSocketServer::handshakeTimeoutMS() const
{
    return int(d_func()->handshakeTimeout.count());
}

/*! Returns the port listened on, or 0 when not listening. */
quint16 WebSocketServer::serverPort() const
{
    return d_func()->listener.port();
}

/*! Returns the address listened on (QHostAddress::Any after listen(Any)), null when not listening. */
QHostAddress WebSocketServer::serverAddress() const
{
    return d_func()->listener.address();
}

/*! Returns ws://address:port (wss:// in SecureMode), or an invalid QUrl when not listening. */
QUrl WebSocketServer::serverUrl() const
{
    Q_D(const WebSocketServer);
    if (!d->listener.isListening())
        return QUrl();
    QUrl url;
    url.setScheme(d->secureMode == SecureMode ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setHost(serverAddress().toString());
    url.setPort(serverPort());
    return url;
}

/*! Returns the mode given to the constructor. */
WebSocketServer::SslMode WebSocketServer::secureMode() const
{
    return d_func()->secureMode;
}

/*! Same as setNativeDescriptor(\a socketDescriptor). */
bool WebSocketServer::setSocketDescriptor(qintptr socketDescriptor)
{
    return setNativeDescriptor(socketDescriptor);
}

/*! Same as nativeDescriptor(). */
qintptr WebSocketServer::socketDescriptor() const
{
    return nativeDescriptor();
}

/*!
    Listens on \a descriptor, a TCP socket already bound and listening (for example one inherited
    from systemd or another process). The server takes ownership and closes it in close(). Returns
    \c false, with errorString() set, if it is not a listening TCP socket.
*/
bool WebSocketServer::setNativeDescriptor(qintptr descriptor)
{
    Q_D(WebSocketServer);
    return d->adoptListener(descriptor);
}

/*! Returns the listening socket's descriptor, or -1 when not listening. */
qintptr WebSocketServer::nativeDescriptor() const
{
    return d_func()->listener.fd();
}

/*! Returns \c true when a connection waits for nextPendingConnection(). */
bool WebSocketServer::hasPendingConnections() const
{
    return !d_func()->pending.isEmpty();
}

/*!
    Returns the next connection that completed its handshake, or \c nullptr when none. The caller
    owns it. Messages that arrived before this call are kept (reading pauses when they pass
    maxInboundQueue()) and delivered from the event loop after this returns.
*/
WebSocket *WebSocketServer::nextPendingConnection()
{
    Q_D(WebSocketServer);
    if (d->pending.isEmpty())
        return nullptr;
    WebSocket *socket = d->pending.dequeue();
    d->pendingCount.fetch_sub(1, std::memory_order_acq_rel);
    WebSocketPrivate::claim(socket);
    return socket;
}

/*! Returns the last error's close code, CloseCodeNormal when there was none. */
WebSocketProtocol::CloseCode WebSocketServer::error() const
{
    return d_func()->error;
}

/*! Returns a readable text for the last error, empty when there was none. */
QString WebSocketServer::errorString() const
{
    return d_func()->errorString;
}

/*!
    Stops accepting: new TCP connections wait in the kernel's backlog. Connections already queued
    for nextPendingConnection() stay queued.
*/
void WebSocketServer::pauseAccepting()
{
    for (auto &worker : d_func()->workers)
        worker->setAccepting(false);
}

/*! Accepts connections again after pauseAccepting(). */
void WebSocketServer::resumeAccepting()
{
    for (auto &worker : d_func()->workers)
        worker->setAccepting(true);
}

/*! Sets the name sent in the \c Server header to \a serverName; only new clients see the change. */
void WebSocketServer::setServerName(const QString &serverName)
{
    Q_D(WebSocketServer);
    d->serverName = serverName;
    d->rebuildConfig();
}

/*! Returns the server name. */
QString WebSocketServer::serverName() const
{
    return d_func()->serverName;
}

/*!
    Stores \a networkProxy, for API compatibility: a listening socket cannot go through a proxy, so
    the engine never uses it (as with QWebSocketServer, whose default is also DefaultProxy).
*/
void WebSocketServer::setProxy(const QNetworkProxy &networkProxy)
{
    d_func()->proxy = networkProxy;
}

/*! Returns the stored proxy (QNetworkProxy::DefaultProxy unless set). */
QNetworkProxy WebSocketServer::proxy() const
{
    return d_func()->proxy;
}

/*!
    Sets the TLS configuration (certificate chain, private key, CA certificates, peer verification,
    protocol floor) to \a sslConfiguration. Ignored in NonSecureMode. Takes effect at the next listen().
*/
void WebSocketServer::setSslConfiguration(const QSslConfiguration &sslConfiguration)
{
    Q_D(WebSocketServer);
    if (d->secureMode == SecureMode)
        d->sslConfiguration = sslConfiguration;
}

/*! Returns the TLS configuration; QSslConfiguration::defaultConfiguration() in NonSecureMode. */
QSslConfiguration WebSocketServer::sslConfiguration() const
{
    Q_D(const WebSocketServer);
    if (d->secureMode == NonSecureMode)
        return QSslConfiguration::defaultConfiguration();
    return d->sslConfiguration;
}

/*! Returns the protocol versions spoken: only RFC 6455 (Version13). */
QList<WebSocketProtocol::Version> WebSocketServer::supportedVersions() const
{
    return {WebSocketProtocol::Version13};
}

/*! Returns the subprotocols offered, in preference order. */
QStringList WebSocketServer::supportedSubprotocols() const
{
    return d_func()->subprotocols;
}

/*!
    Sets the subprotocols to \a protocols, in the server's preference order: a client gets the first
    of them it offered (Sec-WebSocket-Protocol), or none. New connections only.
*/
void WebSocketServer::setSupportedSubprotocols(const QStringList &protocols)
{
    Q_D(WebSocketServer);
    d->subprotocols = protocols;
    d->rebuildConfig();
}

/*!
    Upgrades \a socket, a connected TCP socket accepted elsewhere (for example by an HTTP server
    sharing the port), as if the server had accepted it: the bytes it already buffered are taken,
    its descriptor is duplicated onto an engine thread, and \a socket is aborted and deleted later
    (the server takes ownership). Works without listen(). In SecureMode, the socket must not have
    received anything yet (the engine runs the TLS handshake itself); an already encrypted
    QSslSocket cannot be taken over.
*/
void WebSocketServer::handleConnection(QTcpSocket *socket) const
{
    auto *d = const_cast<WebSocketServerPrivate *>(d_func());
    if (!socket)
        return;
    const qintptr descriptor = socket->socketDescriptor();
    const bool secure = d->secureMode == SecureMode;
    QString failure;
    int fd = -1;
    if (descriptor < 0 || socket->state() != QAbstractSocket::ConnectedState)
        failure = QStringLiteral("handleConnection: the socket is not connected");
    else if (secure && socket->bytesAvailable() > 0)
        failure = QStringLiteral("handleConnection: in SecureMode the socket must not have read anything");
    else if (secure && !d->tls && !d->makeTls(failure))
        ;
    else if (!d->ensureEngine())
        failure = d->errorString;
    else if ((fd = ::fcntl(int(descriptor), F_DUPFD_CLOEXEC, 0)) < 0)
        failure = QStringLiteral("handleConnection: cannot duplicate the socket descriptor");

    QByteArray initial;
    if (failure.isEmpty())
        initial = socket->readAll();
    // The socket is ours now: silence it, and close Qt's descriptor (our duplicate keeps the
    // connection; close() without shutdown() does not end it), so it reads nothing more.
    socket->disconnect();
    socket->abort();
    deleteLaterAmongEnginePosts(socket);
    if (!failure.isEmpty()) {
        qCWarning(lcServer) << failure;
        return;
    }
    d->nextWorker()->adopt(fd, std::move(initial));
}

/*! \reimp Tracks whether handshakeFailed() is connected (failures are collected only then). */
void WebSocketServer::connectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&WebSocketServer::handshakeFailed))
        d_func()->handshakeFailureListeners.fetch_add(1, std::memory_order_relaxed);
    QObject::connectNotify(signal);
}

/*! \reimp */
void WebSocketServer::disconnectNotify(const QMetaMethod &signal)
{
    // Qt may hold its connection lock here: count, do not ask isSignalConnected(). An invalid
    // \a signal (disconnect() of everything) leaves the count; the next failure recounts.
    if (signal == QMetaMethod::fromSignal(&WebSocketServer::handshakeFailed)) {
        auto &listeners = d_func()->handshakeFailureListeners;
        int count = listeners.load(std::memory_order_relaxed);
        while (count > 0 && !listeners.compare_exchange_weak(count, count - 1, std::memory_order_relaxed)) { }
    }
    QObject::disconnectNotify(signal);
}

/*! \reimp */
bool WebSocketServer::event(QEvent *event)
{
    tsanAcquire(event);   // an engine thread may have made it (postServerEvent())
    if (event->type() == WebSocketServerPrivate::serverEventType()) {
        d_func()->processEvents();
        return true;
    }
    return QObject::event(event);
}

} // namespace qws
