// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocketServer: QWebSocketServer's API, function for function, on a threaded engine.
#pragma once

#include "enginemessage.h"
#include "quickwebsockets_global.h"
#include "websocketprotocol.h"

#include <QtCore/QObject>
#include <QtCore/QScopedPointer>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslError>

#include <chrono>

QT_BEGIN_NAMESPACE
class QTcpSocket;
class QSslPreSharedKeyAuthenticator;
QT_END_NAMESPACE

namespace qws {

class CorsAuthenticator;
class WebSocket;
class WebSocketServerPrivate;

/// permessage-deflate (RFC 7692) settings of a server. Beyond QWebSocketServer, which has none.
struct CompressionOptions {
    bool enabled = true;               ///< negotiate when a client offers it
    int serverMaxWindowBits = 15;      ///< 9–15 (8 is negotiated as 9 internally)
    int clientMaxWindowBits = 15;      ///< asked of clients that allow a value
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int level = 6;                     ///< zlib level 1–9
    int minMessageSize = 64;           ///< smaller messages go out uncompressed
};

/// What happens when a connection's outbound queue passes maxOutboundQueue().
enum class OutboundPolicy {
    CloseConnection, ///< emit WebSocket::outboundQueueFull(), then close with 1008 (default)
    RejectSends,     ///< emit WebSocket::outboundQueueFull(); send…() return -1 until it drains
};

class QWS_EXPORT WebSocketServer : public QObject
{
    Q_OBJECT
public:
    enum SslMode { SecureMode = 0, NonSecureMode };
    Q_ENUM(SslMode)

    /// Why a client's opening handshake failed (handshakeFailed()). Beyond QWebSocketServer.
    enum class HandshakeFailure {
        BadRequest,     ///< the HTTP upgrade request was malformed or refused (400, 405, 426)
        Timeout,        ///< handshakeTimeout() elapsed (TLS or HTTP phase; 408 in the HTTP phase)
        OriginRefused,  ///< allowedOrigins() or originAuthenticationRequired() refused it (403)
        TlsFailed,      ///< the TLS handshake failed (garbage or plain HTTP on a wss port, …)
        ServerFull,     ///< maxPendingConnections() reached (503); serverError() is emitted too
        ConnectionLost, ///< the peer closed or reset first, or the server closed mid-handshake
    };
    Q_ENUM(HandshakeFailure)

    explicit WebSocketServer(const QString &serverName, SslMode secureMode, QObject *parent = nullptr);
    ~WebSocketServer() override;

    // ---- the QWebSocketServer API ---------------------------------------------------------------
    bool listen(const QHostAddress &address = QHostAddress::Any, quint16 port = 0);
    void close();
    bool isListening() const;

    void setMaxPendingConnections(int numConnections);
    int maxPendingConnections() const;

    void setHandshakeTimeout(std::chrono::milliseconds msec);
    std::chrono::milliseconds handshakeTimeout() const;
    void setHandshakeTimeout(int msec);
    int handshakeTimeoutMS() const;

    quint16 serverPort() const;
    QHostAddress serverAddress() const;
    QUrl serverUrl() const;

    SslMode secureMode() const;

    bool setSocketDescriptor(qintptr socketDescriptor);
    qintptr socketDescriptor() const;
    bool setNativeDescriptor(qintptr descriptor);
    qintptr nativeDescriptor() const;

    bool hasPendingConnections() const;
    virtual WebSocket *nextPendingConnection();

    WebSocketProtocol::CloseCode error() const;
    QString errorString() const;

    void pauseAccepting();
    void resumeAccepting();

    void setServerName(const QString &serverName);
    QString serverName() const;

    void setProxy(const QNetworkProxy &networkProxy);
    QNetworkProxy proxy() const;

    void setSslConfiguration(const QSslConfiguration &sslConfiguration);
    QSslConfiguration sslConfiguration() const;

    QList<WebSocketProtocol::Version> supportedVersions() const;

    QStringList supportedSubprotocols() const;
    void setSupportedSubprotocols(const QStringList &protocols);

    void handleConnection(QTcpSocket *socket) const;

    // ---- beyond the reference -------------------------------------------------------------------
    /// Engine threads for sockets, TLS and protocol work (default: QThread::idealThreadCount()).
    /// Takes effect at the next listen().
    void setWorkerThreadCount(int count);
    int workerThreadCount() const;

    void setCompression(const CompressionOptions &options);
    CompressionOptions compression() const;

    /// Largest accepted message, after decompression (default 64 MiB) → close 1009 when exceeded.
    void setMaxMessageSize(qint64 bytes);
    qint64 maxMessageSize() const;
    /// Largest accepted frame (default 64 MiB) → close 1009.
    void setMaxFrameSize(qint64 bytes);
    qint64 maxFrameSize() const;

    /// Empty (default): every origin is allowed (originAuthenticationRequired still runs).
    void setAllowedOrigins(const QStringList &origins);
    QStringList allowedOrigins() const;

    /// Ping every idle connection after this long without traffic; 0 (default) disables.
    void setKeepAliveInterval(std::chrono::milliseconds interval);
    std::chrono::milliseconds keepAliveInterval() const;
    /// Close (1001) connections silent for this long; 0 (default) disables.
    void setIdleTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds idleTimeout() const;

    /// Unconsumed inbound bytes per connection before the engine stops reading it (default 4 MiB).
    void setMaxInboundQueue(qint64 bytes);
    qint64 maxInboundQueue() const;
    /// Unsent outbound bytes per connection before `policy` applies (default 16 MiB).
    void setMaxOutboundQueue(qint64 bytes, OutboundPolicy policy = OutboundPolicy::CloseConnection);
    qint64 maxOutboundQueue() const;
    OutboundPolicy outboundPolicy() const;

    /// Runs `handler` on the engine threads for every data message, before it is handed to the
    /// server's thread; a message it takes (returns true) is not delivered to the WebSocket. Replies
    /// go out with EngineMessage::sendText()/sendBinary(), with no thread hand-off. An empty handler
    /// (default) turns it off. Connections accepted after the call use it, for their whole life.
    void setEngineMessageHandler(EngineMessageHandler handler);
    bool hasEngineMessageHandler() const;

    /// Open connections (handshake done, not yet disconnected), pending ones included.
    int connectionCount() const;

    /// TLS handshakes that failed since construction (garbage or plain HTTP on a wss port, a refused
    /// protocol version, a missing or rejected client certificate…); each is also logged on qws.tls.
    quint64 tlsHandshakeFailureCount() const;

    /// Handshake failures not signalled by handshakeFailed() because more than
    /// kMaxHandshakeFailuresPerBatch arrived before the server's thread took the previous ones.
    quint64 droppedHandshakeFailureCount() const;
    static constexpr int kMaxHandshakeFailuresPerBatch = 256;

Q_SIGNALS:
    void acceptError(QAbstractSocket::SocketError socketError);
    void serverError(qws::WebSocketProtocol::CloseCode closeCode);
    /// Emitted on an engine thread (direct connection): the slot may refuse by setAllowed(false).
    void originAuthenticationRequired(qws::CorsAuthenticator *authenticator);
    void newConnection();
    void peerVerifyError(const QSslError &error);
    void sslErrors(const QList<QSslError> &errors);
    void preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator);
    void closed();
    /// A client's opening handshake failed (beyond QWebSocketServer). Queued to the server's thread;
    /// collected only while connected, at most kMaxHandshakeFailuresPerBatch per batch.
    void handshakeFailed(const QHostAddress &peerAddress, quint16 peerPort,
                         qws::WebSocketServer::HandshakeFailure reason, const QString &errorString);
    /// Every message and disconnection of every socket taken with nextPendingConnection() that lives on
    /// the server's thread, after the socket's own signal (beyond QWebSocketServer): one connection
    /// serves all sockets, instead of a few hundred bytes of connect()s per socket.
    void textMessageReceived(qws::WebSocket *socket, const QString &message);
    void binaryMessageReceived(qws::WebSocket *socket, const QByteArray &message);
    void socketDisconnected(qws::WebSocket *socket);

protected:
    WebSocketServer(WebSocketServerPrivate &dd, QObject *parent);
    bool event(QEvent *event) override;   // batches of engine events arrive here
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

private:
    Q_DISABLE_COPY(WebSocketServer)
    QScopedPointer<WebSocketServerPrivate> d_ptr;
    Q_DECLARE_PRIVATE(WebSocketServer)
};

} // namespace qws
