// SPDX-License-Identifier: BSD-3-Clause
// qws::QmlWebSocketServer: the listen/restart life cycle, the engine object, its signals, and the
// engine-thread → QML bridge.
#include "qmlwebsocketserver.h"
#include "qmlwebsocketserver_p.h"

#include "corsauthenticator.h"
#include "websocket.h"

#include <QtNetwork/QSslPreSharedKeyAuthenticator>
#include <QtNetwork/QTcpSocket>
#include <QtQml/QQmlEngine>
#include <QtQml/QQmlInfo>

namespace qws {

bool OriginPolicy::originAllowed(const QString &origin)
{
    QMutexLocker lock(&mutex);
    return allowedOrigins.isEmpty() || allowedOrigins.contains(origin, Qt::CaseInsensitive);
}

// ---- life cycle ----------------------------------------------------------------------------------

void QmlWebSocketServer::setError(Error error, const QString &text)
{
    qCWarning(lcQmlServer).noquote() << "WebSocketServer:" << text;
    m_error = error;
    m_errorString = text;
    Q_EMIT errorChanged();
    Q_EMIT serverError(error);
}

void QmlWebSocketServer::clearError()
{
    if (m_error == NoError)
        return;
    m_error = NoError;
    m_errorString.clear();
    Q_EMIT errorChanged();
}

void QmlWebSocketServer::rejectValue(const QString &text)
{
    qmlWarning(this) << text;
    setError(InvalidValueError, text);
}

void QmlWebSocketServer::requestRestart()
{
    m_needsRestart = true;
    if (!m_complete || m_restartPending || m_destroying)
        return;
    m_restartPending = true;
    QMetaObject::invokeMethod(this, &QmlWebSocketServer::update, Qt::QueuedConnection);
}

void QmlWebSocketServer::update()
{
    m_restartPending = false;
    if (!m_complete || m_destroying)
        return;
    if (!m_listen) {
        m_needsRestart = false;
        stopListening();
        return;
    }
    if (m_listening && !m_needsRestart)
        return;
    m_needsRestart = false;
    stopListening();
    startListening();
}

void QmlWebSocketServer::setListening(bool listening, const QUrl &url)
{
    const bool urlChange = url != m_url;
    const bool listeningChange = listening != m_listening;
    m_url = url;
    m_listening = listening;
    if (urlChange)
        Q_EMIT urlChanged();
    if (listeningChange) {
        Q_EMIT listeningChanged();
        if (!listening)
            Q_EMIT closed();
    }
}

void QmlWebSocketServer::setFingerprint(const QString &fingerprint)
{
    if (fingerprint == m_fingerprint)
        return;
    m_fingerprint = fingerprint;
    Q_EMIT certificateFingerprintChanged();
}

void QmlWebSocketServer::takePendingConnections()
{
    while (m_engine && !m_destroying) {
        qws::WebSocket *socket = m_engine->nextPendingConnection();
        if (!socket)
            break;
        auto *wrapper = new QmlWebSocket(socket);
        // Owned by this element while open (see WebSocket's lifetime rule); never by the JS GC.
        QQmlEngine::setObjectOwnership(wrapper, QQmlEngine::CppOwnership);
        wrapper->setServerElement(this);
        connect(wrapper, &QmlWebSocket::finished, this, &QmlWebSocketServer::dropSocket);
        m_model->append(wrapper);
        Q_EMIT connectionCountChanged();
        Q_EMIT clientConnected(wrapper);
    }
}

void QmlWebSocketServer::dropSocket(QmlWebSocket *socket)
{
    socket->setServerElement(nullptr);
    m_model->remove(socket);
    Q_EMIT connectionCountChanged();
    socket->deleteLater();   // first: a handler below may destroy this element
    Q_EMIT clientDisconnected(socket);
}

/*!
    \qmlsignal WebSocketServer::clientConnected(WebSocket socket)
    A client completed its handshake. \a socket is already in \l connections.
*/
/*!
    \qmlsignal WebSocketServer::textMessageReceived(WebSocket socket, string message)
    \qmlsignal WebSocketServer::binaryMessageReceived(WebSocket socket, ArrayBuffer message)
    A whole message arrived on \a socket, right after the socket's own signal of the same name. One
    handler here serves every connection, where per-socket handlers cost a JavaScript function and a
    connection each (an echo server: \c{onTextMessageReceived: (socket, message) =>
    socket.sendTextMessage(message)}).
*/
/*!
    \qmlsignal WebSocketServer::clientDisconnected(WebSocket socket)
    \a socket ended, after its own \l{WebSocket::disconnected}{disconnected()}; it has left
    \l connections already, and is deleted at the next turn of the event loop. Not emitted when the
    server element itself is destroyed.
*/
/*!
    \qmlsignal WebSocketServer::serverError(enumeration error)
    \l error was set (see \l errorString).
*/
/*!
    \qmlsignal WebSocketServer::acceptError(int socketError)
    Accepting a connection failed; \a socketError is a QAbstractSocket::SocketError value.
*/
/*!
    \qmlsignal WebSocketServer::closed()
    \l listening went from true to false (close(), listen = false, a restart, or destruction).
*/

void QmlWebSocketServer::startListening()
{
    const std::optional<QHostAddress> address = parseHost(m_host); // validated when set
    TlsMaterial tls;
    if (m_secureMode == SecureMode) {
        if (m_certificate.isEmpty() && m_privateKey.isEmpty()) {
            if (m_generatedTls.isNull()) {
                tls = generateTlsMaterial();
                if (tls.error.isEmpty()) {
                    m_generatedTls = tls.configuration;
                    m_generatedFingerprint = tls.fingerprint;
                }
            } else {
                tls.configuration = m_generatedTls;
                tls.fingerprint = m_generatedFingerprint;
            }
        } else {
            tls = loadTlsFiles(m_certificate, m_privateKey);
        }
        if (tls.error.isEmpty()) {
            applyPeerVerification(tls, int(m_peerVerifyMode), m_caCertificates);
            tls.configuration.setPreSharedKeyIdentityHint(m_pskHint.toUtf8());
        }
        if (!tls.error.isEmpty()) {
            setFingerprint(QString());
            setError(TlsError, tls.error);
            return;
        }
    }

    if (!m_engine || int(m_engine->secureMode()) != int(m_secureMode)) {
        destroyEngine();
        createEngine();
    }
    if (m_secureMode == SecureMode)
        m_engine->setSslConfiguration(tls.configuration);
    setFingerprint(tls.fingerprint);

    m_bridge->setOpen(true);
    m_inListen = true; // the engine reports a failed listen() through serverError too: ours says it
    const bool listening = m_engine->listen(address.value_or(QHostAddress(QHostAddress::Any)), quint16(m_port));
    m_inListen = false;
    if (!listening) {
        m_bridge->setOpen(false);
        QString why = m_engine->errorString();
        if (why.isEmpty())
            why = QStringLiteral("the engine gave no reason");
        const bool tls = m_engine->error() == WebSocketProtocol::CloseCodeTlsHandshakeFailed;
        setError(tls ? TlsError : ListenError, QStringLiteral("Cannot listen on %1 port %2: %3")
                                      .arg(m_host.isEmpty() ? QStringLiteral("any address") : m_host)
                                      .arg(m_port).arg(why));
        return;
    }
    if (!m_accepting)
        m_engine->pauseAccepting();

    QUrl url;
    url.setScheme(m_secureMode == SecureMode ? QStringLiteral("wss") : QStringLiteral("ws"));
    const QHostAddress bound = m_engine->serverAddress();
    const bool any = bound == QHostAddress::Any || bound == QHostAddress::AnyIPv4
            || bound == QHostAddress::AnyIPv6 || bound.isNull();
    url.setHost(any ? QStringLiteral("localhost") : bound.toString());
    url.setPort(m_engine->serverPort());
    clearError();
    setListening(true, url);
    takePendingConnections();
}

void QmlWebSocketServer::stopListening()
{
    m_bridge->setOpen(false);
    const QString reason = m_destroying || !m_listen ? QStringLiteral("Server closed")
                                                     : QStringLiteral("Server restarting");
    for (QmlWebSocket *s : m_model->sockets())
        s->close(int(WebSocketProtocol::CloseCodeGoingAway), reason);
    if (m_engine && m_engine->isListening())
        m_engine->close();
    setListening(false, QUrl());
}

/*!
    \fn void QmlWebSocketServer::handleConnection(QTcpSocket *socket)
    Upgrades \a socket, a connected TCP socket accepted elsewhere (for example by an HTTP server
    that shares its port with this element), as if the element had accepted it: the bytes the socket
    already buffered must include the start of the client's handshake request, so read them with
    QTcpSocket::peek(), not read(). The element takes ownership (the socket is deleted later); once
    the handshake completes the client appears in \l connections and \l clientConnected() is
    emitted, and \l broadcastTextMessage() reaches it.

    Works with \c{listen: false}: the engine is created on first use. In SecureMode the element must
    be listening (its TLS material is loaded or generated then) and \a socket must not have received
    anything yet. Changing a property that restarts the listener closes such connections too (1001).
    Call only from C++ on the element's thread, after the component is complete.
*/
void QmlWebSocketServer::handleConnection(QTcpSocket *socket)
{
    if (!socket)
        return;
    QString refusal;
    if (!m_complete || m_destroying)
        refusal = QStringLiteral("handleConnection: the element is not complete or is being destroyed");
    else if (!m_engine && m_secureMode == SecureMode)
        refusal = QStringLiteral("handleConnection: in SecureMode the element must be listening");
    if (!refusal.isEmpty()) {
        qCWarning(lcQmlServer).noquote() << "WebSocketServer:" << refusal;
        socket->abort();
        socket->deleteLater();
        return;
    }
    if (!m_engine) {
        createEngine();
        m_bridge->setOpen(true); // origin/PSK questions may be answered by QML
    }
    m_engine->handleConnection(socket);
}

void QmlWebSocketServer::createEngine()
{
    Q_ASSERT(!m_engine);
    m_engine = std::make_unique<WebSocketServer>(
            m_serverName, WebSocketServer::SslMode(int(m_secureMode)));
    WebSocketServer *e = m_engine.get();
    e->setMaxPendingConnections(m_maxPending);
    e->setHandshakeTimeout(m_handshakeTimeout);
    e->setSupportedSubprotocols(m_subprotocols);
    CompressionOptions compression = e->compression();
    compression.enabled = m_compression;
    e->setCompression(compression);
    e->setMaxMessageSize(m_maxMessageSize);
    // allowedOrigins is not handed to the engine: the origin handler below applies it, so one place
    // decides both the list and whether the QML handler is asked (same thread, same moment).

    // Owner-thread signals: AutoConnection queues them if the engine emits from one of its threads.
    connect(e, &WebSocketServer::newConnection, this, &QmlWebSocketServer::takePendingConnections);
    connect(e, &WebSocketServer::serverError, this,
            [this](WebSocketProtocol::CloseCode code) { handleServerError(int(code)); });
    connect(e, &WebSocketServer::acceptError, this, &QmlWebSocketServer::handleAcceptError);
    connect(e, &WebSocketServer::sslErrors, this, &QmlWebSocketServer::handleSslErrors);
    connect(e, &WebSocketServer::peerVerifyError, this, &QmlWebSocketServer::handlePeerVerifyError);
    updateHandshakeFailedForwarding();   // the engine collects failures only while this is connected

    // Handshake-time questions arrive on an engine thread, which must have the answer before it
    // goes on. The allow-list is answered right there; QML is asked only when a handler is
    // connected, through the interruptible bridge (see AuthenticationBridge for why not
    // BlockingQueuedConnection). No answer (closing, or the GUI thread busy past the handshake
    // timeout) refuses the client: fail closed.
    auto policy = m_policy;
    auto bridge = m_bridge;
    QmlWebSocketServer *self = this;
    connect(e, &WebSocketServer::originAuthenticationRequired, e,
            [policy, bridge, self](CorsAuthenticator *authenticator) {
        if (!authenticator->allowed())
            return;
        const QString origin = authenticator->origin();
        if (!policy->originAllowed(origin)) {
            authenticator->setAllowed(false);
            return;
        }
        if (policy->originHandlers.load() == 0)
            return;
        auto answer = std::make_shared<bool>(false);
        const bool ran = bridge->run(self, [self, origin, answer] {
            QmlOriginAuthenticator question(origin);
            QQmlEngine::setObjectOwnership(&question, QQmlEngine::CppOwnership);
            Q_EMIT self->originAuthenticationRequired(&question);
            *answer = question.allowed();
        }, policy->timeoutMs.load());
        if (!ran)
            qCWarning(lcQmlServer) << "origin" << origin << "refused: no answer from the QML handler";
        authenticator->setAllowed(ran && *answer);
    }, Qt::DirectConnection);

    connect(e, &WebSocketServer::preSharedKeyAuthenticationRequired, e,
            [policy, bridge, self](QSslPreSharedKeyAuthenticator *authenticator) {
        if (policy->pskHandlers.load() == 0)
            return;
        const QByteArray identity = authenticator->identity();
        const QByteArray hint = authenticator->identityHint();
        const int maxLength = authenticator->maximumPreSharedKeyLength();
        auto key = std::make_shared<QByteArray>();
        const bool ran = bridge->run(self, [self, identity, hint, maxLength, key] {
            QmlPreSharedKeyAuthenticator question(identity, hint, maxLength);
            QQmlEngine::setObjectOwnership(&question, QQmlEngine::CppOwnership);
            Q_EMIT self->preSharedKeyAuthenticationRequired(&question);
            *key = question.preSharedKey();
        }, policy->timeoutMs.load());
        if (ran && !key->isEmpty())
            authenticator->setPreSharedKey(*key);
    }, Qt::DirectConnection);
}

void QmlWebSocketServer::destroyEngine()
{
    if (!m_engine)
        return;
    m_bridge->setOpen(false);
    // Connections of this engine end with it (stopListening() already sent them 1001): each reports
    // disconnected() now and leaves the model; the handles are deleted later and stay valid until
    // then (the engine keeps taken sockets as valid, unconnected objects).
    for (QmlWebSocket *s : m_model->sockets())
        s->terminate();
    m_engine->disconnect(this);
    m_handshakeFailedForward = {};
    m_engine.reset();
}

void QmlWebSocketServer::connectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::originAuthenticationRequired))
        m_policy->originHandlers.fetch_add(1);
    else if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::preSharedKeyAuthenticationRequired))
        m_policy->pskHandlers.fetch_add(1);
    else if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::handshakeFailed)) {
        ++m_handshakeFailedHandlers;
        updateHandshakeFailedForwarding();
    }
}

void QmlWebSocketServer::disconnectNotify(const QMetaMethod &signal)
{
    if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::originAuthenticationRequired))
        m_policy->originHandlers.fetch_sub(1);
    else if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::preSharedKeyAuthenticationRequired))
        m_policy->pskHandlers.fetch_sub(1);
    else if (signal == QMetaMethod::fromSignal(&QmlWebSocketServer::handshakeFailed)) {
        --m_handshakeFailedHandlers;
        updateHandshakeFailedForwarding();
    }
}

/// The engine's handshakeFailed() is connected only while something handles ours: an unwatched
/// element leaves the engine's failure collection off (a flood of bad clients costs nothing here).
void QmlWebSocketServer::updateHandshakeFailedForwarding()
{
    const bool want = m_engine && m_handshakeFailedHandlers > 0;
    if (want == bool(m_handshakeFailedForward))
        return;
    if (want) {
        m_handshakeFailedForward = connect(m_engine.get(), &WebSocketServer::handshakeFailed, this,
                                           &QmlWebSocketServer::handleHandshakeFailed);
    } else {
        disconnect(m_handshakeFailedForward);
        m_handshakeFailedForward = {};
    }
}

void QmlWebSocketServer::handleHandshakeFailed(const QHostAddress &address, quint16 port,
                                               WebSocketServer::HandshakeFailure reason, const QString &text)
{
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; QML shows them as a.b.c.d.
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    const QString shown = isV4 ? QHostAddress(v4).toString() : address.toString();
    Q_EMIT handshakeFailed(shown, int(port), HandshakeFailure(int(reason)), text);
}

void QmlWebSocketServer::handleServerError(int closeCode)
{
    if (m_inListen)
        return;
    QString text = m_engine ? m_engine->errorString() : QString();
    if (text.isEmpty())
        text = QStringLiteral("A client's handshake failed");
    setError(HandshakeError, QStringLiteral("%1 (close code %2)").arg(text).arg(closeCode));
}

void QmlWebSocketServer::handleAcceptError(QAbstractSocket::SocketError error)
{
    setError(AcceptError, QStringLiteral("Accepting a connection failed (socket error %1)").arg(int(error)));
    Q_EMIT acceptError(int(error));
}

static QVariantMap sslErrorToMap(const QSslError &error)
{
    return {{QStringLiteral("error"), int(error.error())},
            {QStringLiteral("errorString"), error.errorString()}};
}

void QmlWebSocketServer::handleSslErrors(const QList<QSslError> &errors)
{
    QVariantList list;
    for (const QSslError &e : errors)
        list.append(sslErrorToMap(e));
    Q_EMIT sslErrors(list);
}

void QmlWebSocketServer::handlePeerVerifyError(const QSslError &error)
{
    Q_EMIT peerVerifyError(sslErrorToMap(error));
}

/*!
    \qmlsignal WebSocketServer::originAuthenticationRequired(OriginAuthenticator authenticator)
    A client's handshake carries an origin that passed \l allowedOrigins. Set
    \c{authenticator.allowed = false} to refuse it (HTTP 403).

    This handler runs on the GUI thread while the engine thread doing that handshake waits for it
    (other connections are unaffected). If the GUI thread does not run it within
    \l handshakeTimeout, or the server closes meanwhile, the client is refused. When no handler is
    connected, nothing waits. Keep the handler short; do not block in it.
*/
/*!
    \qmlsignal WebSocketServer::preSharedKeyAuthenticationRequired(PreSharedKeyAuthenticator authenticator)
    A TLS-PSK client asks for a key: set \c{authenticator.preSharedKey}. Runs like
    \l originAuthenticationRequired (the TLS handshake waits for it).
*/
/*!
    \qmlsignal WebSocketServer::handshakeFailed(string peerAddress, int peerPort, enumeration reason, string errorString)
    A client at \a peerAddress:\a peerPort failed its opening handshake (TLS or HTTP), for \a reason:
    \list
    \li \c WebSocketServer.HandshakeBadRequest: a malformed or refused upgrade request (400, 405, 426)
    \li \c WebSocketServer.HandshakeTimeout: \l handshakeTimeout elapsed
    \li \c WebSocketServer.HandshakeOriginRefused: \l allowedOrigins or an
        \l originAuthenticationRequired handler refused it (403)
    \li \c WebSocketServer.HandshakeTlsFailed: the TLS handshake failed (secure mode)
    \li \c WebSocketServer.HandshakeServerFull: \l maxPendingConnections reached (503)
    \li \c WebSocketServer.HandshakeConnectionLost: the client closed or reset first, or the server closed
    \endlist
    \a errorString says what exactly (the protocol core's or OpenSSL's text and the HTTP status sent).
    IPv4 clients appear as \c "a.b.c.d" even on a dual-stack listener.

    Beyond Qt's WebSocketServer. The engine collects failures only while a handler is connected, and
    signals at most 256 per batch of engine events (a flood of bad clients is counted, not queued).
*/
/*!
    \qmlsignal WebSocketServer::sslErrors(list errors)
    TLS errors during a client's handshake; each entry is \c{{error: int, errorString: string}}
    (\c error is a QSslError::SslError value).
*/
/*!
    \qmlsignal WebSocketServer::peerVerifyError(var error)
    Verifying a client certificate failed: \c{{error: int, errorString: string}}.
*/

} // namespace qws
