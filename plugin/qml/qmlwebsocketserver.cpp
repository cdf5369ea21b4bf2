// SPDX-License-Identifier: BSD-3-Clause
// qws::QmlWebSocketServer: properties, their validation, and the QML-facing methods.
#include "qmlwebsocketserver.h"
#include "qmlwebsocketserver_p.h"

#include <QtQml/QQmlEngine>
#include <QtQml/QQmlInfo>

#include <cmath>

namespace qws {

Q_LOGGING_CATEGORY(lcQmlServer, "qws.qml")

/*!
    \qmltype WebSocketServer
    \inqmlmodule QuickWebSockets
    \brief A WebSocket server declared in QML, on the QuickWebSockets engine.

    \qml
    import QuickWebSockets
    WebSocketServer {
        port: 8080
        onTextMessageReceived: (socket, message) => socket.sendTextMessage(message)   // an echo server
    }
    \endqml

    The server starts listening once the component is complete (never while its properties are still
    being set), if \l listen is true. Network I/O, TLS and protocol work run on engine threads; this
    element and every WebSocket it hands out live on the GUI thread and receive events in batches.

    \section2 Restarts and errors
    Changing \l host, \l port, \l secureMode, \l certificate or \l privateKey while listening restarts
    the listener at the next turn of the event loop (several changes in one turn restart once). A
    restart is a server restart: open connections are closed with 1001 (Going Away) and \l closed()
    is emitted, then the server listens again and \l url changes.

    A value a property cannot take (port out of range, unparsable host, zero handshake timeout, ...)
    is refused: the property keeps its previous value, \l error becomes \c InvalidValueError,
    \l errorString says why, and \l serverError() is emitted. Failures found when listening (port in
    use, unreadable certificate, key that does not match) set \c ListenError or \c TlsError the same
    way and leave \l listening false; fixing the value retries. A successful listen clears the error.

    \section2 Shutdown
    Destroying the element (or quitting the application) closes every client with 1001 (Going Away).
*/

QmlWebSocketServer::QmlWebSocketServer(QObject *parent)
    : QObject(parent),
      m_model(new ConnectionModel(this)),
      m_bridge(std::make_shared<AuthenticationBridge>()),
      m_policy(std::make_shared<OriginPolicy>())
{
    m_policy->timeoutMs.store(m_handshakeTimeout);
}

QmlWebSocketServer::~QmlWebSocketServer()
{
    m_destroying = true;
    // First release engine threads waiting in an origin/PSK check, so closing can join them.
    m_bridge->setOpen(false);
    const QList<QmlWebSocket *> sockets = m_model->sockets();
    for (QmlWebSocket *s : sockets) {
        s->disconnect(this);
        m_model->remove(s);
        s->close(int(WebSocketProtocol::CloseCodeGoingAway), QStringLiteral("Server shutting down"));
    }
    if (m_engine && m_engine->isListening())
        m_engine->close(); // 1001 to connections still in the engine, flushes, stops listening
    qDeleteAll(sockets);
    destroyEngine();
}

void QmlWebSocketServer::classBegin() { }

void QmlWebSocketServer::componentComplete()
{
    m_complete = true;
    update();
}

// ---- properties ----------------------------------------------------------------------------------

/*!
    \qmlproperty string WebSocketServer::host
    The address to listen on: an IPv4 or IPv6 address, \c "localhost", or empty (default) for every
    address. Host names other than localhost are not resolved. Changing it restarts the listener.
*/
void QmlWebSocketServer::setHost(const QString &host)
{
    if (host == m_host)
        return;
    if (!parseHost(host)) {
        rejectValue(QStringLiteral("host: \"%1\" is not an IP address, \"localhost\" or empty").arg(host));
        return;
    }
    m_host = host;
    Q_EMIT hostChanged();
    requestRestart();
}

/*!
    \qmlproperty int WebSocketServer::port
    The TCP port, 0–65535; 0 (default) lets the system choose one (read it from \l url). Changing it
    restarts the listener.
*/
void QmlWebSocketServer::setPort(int port)
{
    if (port == m_port)
        return;
    if (port < 0 || port > 65535) {
        rejectValue(QStringLiteral("port: %1 is out of range 0–65535").arg(port));
        return;
    }
    m_port = port;
    Q_EMIT portChanged();
    requestRestart();
}

/*!
    \qmlproperty enumeration WebSocketServer::secureMode
    \c WebSocketServer.NonSecureMode (default, ws://) or \c WebSocketServer.SecureMode (wss://, TLS
    with \l certificate and \l privateKey, or a generated self-signed certificate when neither is
    set). Same values as the C++ \c qws::WebSocketServer::SslMode. Changing it restarts the listener.
*/
void QmlWebSocketServer::setSecureMode(SslMode mode)
{
    if (mode == m_secureMode)
        return;
    if (mode != SecureMode && mode != NonSecureMode) {
        rejectValue(QStringLiteral("secureMode: %1 is neither SecureMode nor NonSecureMode").arg(int(mode)));
        return;
    }
    m_secureMode = mode;
    Q_EMIT secureModeChanged();
    requestRestart();
}

/*!
    \qmlproperty int WebSocketServer::handshakeTimeout
    Milliseconds a client has to complete its handshake (default 10000); a negative value disables
    the timeout; 0 is refused. New connections see a change.
*/
void QmlWebSocketServer::setHandshakeTimeout(int ms)
{
    if (ms == m_handshakeTimeout)
        return;
    if (ms == 0) {
        rejectValue(QStringLiteral("handshakeTimeout: 0 would drop every client; use a negative value to disable it"));
        return;
    }
    m_handshakeTimeout = ms;
    m_policy->timeoutMs.store(ms);
    if (m_engine)
        m_engine->setHandshakeTimeout(ms);
    Q_EMIT handshakeTimeoutChanged();
}

/*!
    \qmlproperty int WebSocketServer::maxPendingConnections
    How many accepted connections may wait in the engine before the element takes them (default 30,
    at least 1).
*/
void QmlWebSocketServer::setMaxPendingConnections(int count)
{
    if (count == m_maxPending)
        return;
    if (count < 1) {
        rejectValue(QStringLiteral("maxPendingConnections: %1 is less than 1").arg(count));
        return;
    }
    m_maxPending = count;
    if (m_engine)
        m_engine->setMaxPendingConnections(count);
    Q_EMIT maxPendingConnectionsChanged();
}

/*!
    \qmlproperty string WebSocketServer::serverName
    Sent in the handshake response's \c Server header; empty by default. New clients see a change.
    Control characters are refused.
*/
void QmlWebSocketServer::setServerName(const QString &name)
{
    if (name == m_serverName)
        return;
    for (QChar c : name) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f) {
            rejectValue(QStringLiteral("serverName: control characters are not allowed in a header value"));
            return;
        }
    }
    m_serverName = name;
    if (m_engine)
        m_engine->setServerName(name);
    Q_EMIT serverNameChanged();
}

/*!
    \qmlproperty bool WebSocketServer::listen
    True (default): listen once the component is complete. False: close the listener and every
    connection (see \l close()).
*/
void QmlWebSocketServer::setListen(bool listen)
{
    if (listen == m_listen)
        return;
    m_listen = listen;
    Q_EMIT listenChanged();
    requestRestart();
}

/*!
    \qmlproperty bool WebSocketServer::accepting
    True (default) accepts new clients; false pauses accepting (connections already queued stay
    queued, open ones are untouched). See \l pauseAccepting() and \l resumeAccepting().
*/
void QmlWebSocketServer::setAccepting(bool accepting)
{
    if (accepting == m_accepting)
        return;
    m_accepting = accepting;
    if (m_engine && m_listening) {
        if (accepting)
            m_engine->resumeAccepting();
        else
            m_engine->pauseAccepting();
    }
    Q_EMIT acceptingChanged();
}

/*!
    \qmlproperty list<string> WebSocketServer::supportedSubprotocols
    Subprotocols the server agrees to, in order of preference (empty by default). Each must be an
    HTTP token (RFC 9110 §5.6.2). New clients see a change.
*/
void QmlWebSocketServer::setSupportedSubprotocols(const QStringList &protocols)
{
    if (protocols == m_subprotocols)
        return;
    for (const QString &p : protocols) {
        if (!isToken(p)) {
            rejectValue(QStringLiteral("supportedSubprotocols: \"%1\" is not an HTTP token").arg(p));
            return;
        }
    }
    m_subprotocols = protocols;
    if (m_engine)
        m_engine->setSupportedSubprotocols(protocols);
    Q_EMIT supportedSubprotocolsChanged();
}

/*!
    \qmlproperty bool WebSocketServer::compression
    True (default) negotiates permessage-deflate (RFC 7692) with clients that offer it. New clients
    see a change.
*/
void QmlWebSocketServer::setCompression(bool enabled)
{
    if (enabled == m_compression)
        return;
    m_compression = enabled;
    if (m_engine) {
        CompressionOptions options = m_engine->compression();
        options.enabled = enabled;
        m_engine->setCompression(options);
    }
    Q_EMIT compressionChanged();
}

/*!
    \qmlproperty real WebSocketServer::maxMessageSize
    The largest message accepted, in bytes after decompression (default 67108864, 64 MiB); larger
    ones close the connection with 1009. Must be a whole number ≥ 1.
*/
void QmlWebSocketServer::setMaxMessageSize(double bytes)
{
    if (bytes == double(m_maxMessageSize))
        return;
    if (!std::isfinite(bytes) || bytes < 1 || bytes > 9007199254740992.0 || std::floor(bytes) != bytes) {
        rejectValue(QStringLiteral("maxMessageSize: %1 is not a whole number of bytes ≥ 1").arg(bytes));
        return;
    }
    m_maxMessageSize = qint64(bytes);
    if (m_engine)
        m_engine->setMaxMessageSize(m_maxMessageSize);
    Q_EMIT maxMessageSizeChanged();
}

/*!
    \qmlproperty list<string> WebSocketServer::allowedOrigins
    The \c Origin values allowed to connect (e.g. \c "https://example.com"), compared case-
    insensitively. Empty (default) allows every origin. When the list is not empty, a client whose
    origin is not in it (or who sent none) is refused with 403 before \l originAuthenticationRequired
    runs. New clients see a change. Empty entries are refused.
*/
QStringList QmlWebSocketServer::allowedOrigins() const
{
    QMutexLocker lock(&m_policy->mutex);
    return m_policy->allowedOrigins;
}

void QmlWebSocketServer::setAllowedOrigins(const QStringList &origins)
{
    if (origins == allowedOrigins())
        return;
    for (const QString &o : origins) {
        if (o.trimmed().isEmpty() || o.trimmed() != o) {
            rejectValue(QStringLiteral("allowedOrigins: \"%1\" is not an origin").arg(o));
            return;
        }
    }
    {
        QMutexLocker lock(&m_policy->mutex);
        m_policy->allowedOrigins = origins;
    }
    Q_EMIT allowedOriginsChanged();
}

/*!
    \qmlproperty url WebSocketServer::certificate
    \qmlproperty url WebSocketServer::privateKey
    The PEM (or DER) certificate chain and the PEM private key for \l secureMode, as file paths or
    \c file: / \c qrc: URLs. Relative paths are relative to the working directory (use
    \c Qt.resolvedUrl() for paths relative to the QML file). Both or neither: with neither, a
    self-signed certificate for localhost is generated when listening starts. Files are read when
    listening starts; an unreadable file, an invalid certificate or key, or a key that does not
    match the certificate sets \c TlsError. In secure mode, a change restarts the listener.
*/
void QmlWebSocketServer::setTlsFile(QUrl &member, const QUrl &file, const char *property,
                                    void (QmlWebSocketServer::*changed)())
{
    if (file == member)
        return;
    if (!isLocalFileUrl(file)) {
        rejectValue(QStringLiteral("%1: %2 is not a local file").arg(QString::fromLatin1(property), file.toString()));
        return;
    }
    member = file;
    Q_EMIT (this->*changed)();
    if (m_secureMode == SecureMode)
        requestRestart();
}

void QmlWebSocketServer::setCertificate(const QUrl &file)
{
    setTlsFile(m_certificate, file, "certificate", &QmlWebSocketServer::certificateChanged);
}

void QmlWebSocketServer::setPrivateKey(const QUrl &file)
{
    setTlsFile(m_privateKey, file, "privateKey", &QmlWebSocketServer::privateKeyChanged);
}

/*!
    \qmlproperty enumeration WebSocketServer::peerVerifyMode
    Client certificates in secure mode: \c WebSocketServer.VerifyNone (default: not asked for),
    \c QueryPeer (asked for; problems are reported through \l peerVerifyError() and \l sslErrors()
    and the client still connects) or \c VerifyPeer (required, and must verify against
    \l caCertificates). In secure mode, a change restarts the listener.
*/
void QmlWebSocketServer::setPeerVerifyMode(PeerVerifyMode mode)
{
    if (mode == m_peerVerifyMode)
        return;
    if (mode != VerifyNone && mode != QueryPeer && mode != VerifyPeer) {
        rejectValue(QStringLiteral("peerVerifyMode: %1 is not VerifyNone, QueryPeer or VerifyPeer").arg(int(mode)));
        return;
    }
    m_peerVerifyMode = mode;
    Q_EMIT peerVerifyModeChanged();
    if (m_secureMode == SecureMode)
        requestRestart();
}

/*!
    \qmlproperty url WebSocketServer::caCertificates
    A PEM file of the certificate authorities that client certificates are verified against (with
    \l peerVerifyMode \c VerifyPeer or \c QueryPeer); empty (default) uses the system's. Read when
    listening starts; an unreadable file or one without certificates sets \c TlsError. In secure
    mode, a change restarts the listener.
*/
void QmlWebSocketServer::setCaCertificates(const QUrl &file)
{
    setTlsFile(m_caCertificates, file, "caCertificates", &QmlWebSocketServer::caCertificatesChanged);
}

/*!
    \qmlproperty string WebSocketServer::preSharedKeyIdentityHint
    TLS-PSK (TLS 1.2 PSK cipher suites) in secure mode: the identity hint sent to clients; empty
    (default) sends none. Clients that choose a PSK suite are answered through
    \l preSharedKeyAuthenticationRequired(). In secure mode, a change restarts the listener.
*/
void QmlWebSocketServer::setPreSharedKeyIdentityHint(const QString &hint)
{
    if (hint == m_pskHint)
        return;
    if (hint.toUtf8().size() > 128) {
        rejectValue(QStringLiteral("preSharedKeyIdentityHint: longer than 128 bytes"));
        return;
    }
    m_pskHint = hint;
    Q_EMIT preSharedKeyIdentityHintChanged();
    if (m_secureMode == SecureMode)
        requestRestart();
}

/*!
    \qmlproperty string WebSocketServer::certificateFingerprint
    Read-only. In secure mode, the SHA-256 fingerprint of the certificate in use (given or
    generated), as colon-separated upper-case hex like \c{openssl x509 -fingerprint -sha256}.
    Empty in non-secure mode.
*/
/*!
    \qmlproperty url WebSocketServer::url
    Read-only. \c ws://host:port or \c wss://host:port while listening (\c localhost when listening on
    every address), empty otherwise.
*/
/*!
    \qmlproperty bool WebSocketServer::listening
    Read-only. True while the listener is open.
*/
/*!
    \qmlproperty enumeration WebSocketServer::error
    \qmlproperty string WebSocketServer::errorString
    Read-only. The last error: \c WebSocketServer.NoError, \c InvalidValueError, \c ListenError,
    \c TlsError, \c HandshakeError or \c AcceptError, and its description (empty when none).
*/
/*!
    \qmlproperty int WebSocketServer::connectionCount
    Read-only. The number of open connections, i.e. \c{connections.count}.
*/
/*!
    \qmlproperty ConnectionModel WebSocketServer::connections
    Read-only. The open connections as a list model; see ConnectionModel.
*/

// ---- methods -------------------------------------------------------------------------------------

/*!
    \qmlmethod void WebSocketServer::close()
    Stops listening and closes every connection with 1001 (Going Away); sets \l listen to false.
    Set \l listen to true to listen again.
*/
void QmlWebSocketServer::close()
{
    if (m_listen) {
        m_listen = false;
        Q_EMIT listenChanged();
    }
    stopListening();
}

/*!
    \qmlmethod void WebSocketServer::pauseAccepting()
    \qmlmethod void WebSocketServer::resumeAccepting()
    Set \l accepting to false / true.
*/
void QmlWebSocketServer::pauseAccepting() { setAccepting(false); }
void QmlWebSocketServer::resumeAccepting() { setAccepting(true); }

/*!
    \qmlmethod int WebSocketServer::broadcastTextMessage(string message)
    Sends \a message to every open connection; returns how many were sent to.
*/
int QmlWebSocketServer::broadcastTextMessage(const QString &message)
{
    int sent = 0;
    for (QmlWebSocket *s : m_model->sockets())
        sent += s->sendTextMessage(message) >= 0 ? 1 : 0;
    return sent;
}

/*!
    \qmlmethod int WebSocketServer::broadcastBinaryMessage(ArrayBuffer message)
    Sends \a message to every open connection; returns how many were sent to.
*/
int QmlWebSocketServer::broadcastBinaryMessage(const QByteArray &message)
{
    int sent = 0;
    for (QmlWebSocket *s : m_model->sockets())
        sent += s->sendBinaryMessage(message) >= 0 ? 1 : 0;
    return sent;
}

} // namespace qws
