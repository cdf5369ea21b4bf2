// SPDX-License-Identifier: BSD-3-Clause
// qws::QmlWebSocketServer: the declarative WebSocketServer element on the qws engine.
#pragma once

#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtCore/QVariantList>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslError>
#include <QtNetwork/QSslSocket>
#include <QtQml/QQmlParserStatus>
#include <QtQml/qqmlregistration.h>

#include <memory>

#include "connectionmodel.h"
#include "qmlauthenticator.h"
#include "qmlwebsocket.h"
#include "websocketserver.h"

namespace qws {

struct OriginPolicy;

class QmlWebSocketServer : public QObject, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(WebSocketServer)

    Q_PROPERTY(QString host READ host WRITE setHost NOTIFY hostChanged FINAL)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged FINAL)
    Q_PROPERTY(SslMode secureMode READ secureMode WRITE setSecureMode NOTIFY secureModeChanged FINAL)
    Q_PROPERTY(int handshakeTimeout READ handshakeTimeout WRITE setHandshakeTimeout
               NOTIFY handshakeTimeoutChanged FINAL)
    Q_PROPERTY(int maxPendingConnections READ maxPendingConnections WRITE setMaxPendingConnections
               NOTIFY maxPendingConnectionsChanged FINAL)
    Q_PROPERTY(QString serverName READ serverName WRITE setServerName NOTIFY serverNameChanged FINAL)
    Q_PROPERTY(bool listen READ listen WRITE setListen NOTIFY listenChanged FINAL)
    Q_PROPERTY(bool accepting READ accepting WRITE setAccepting NOTIFY acceptingChanged FINAL)
    Q_PROPERTY(QStringList supportedSubprotocols READ supportedSubprotocols
               WRITE setSupportedSubprotocols NOTIFY supportedSubprotocolsChanged FINAL)
    Q_PROPERTY(bool compression READ compression WRITE setCompression NOTIFY compressionChanged FINAL)
    Q_PROPERTY(double maxMessageSize READ maxMessageSize WRITE setMaxMessageSize
               NOTIFY maxMessageSizeChanged FINAL)
    Q_PROPERTY(QStringList allowedOrigins READ allowedOrigins WRITE setAllowedOrigins
               NOTIFY allowedOriginsChanged FINAL)
    Q_PROPERTY(QUrl certificate READ certificate WRITE setCertificate NOTIFY certificateChanged FINAL)
    Q_PROPERTY(QUrl privateKey READ privateKey WRITE setPrivateKey NOTIFY privateKeyChanged FINAL)
    Q_PROPERTY(PeerVerifyMode peerVerifyMode READ peerVerifyMode WRITE setPeerVerifyMode
               NOTIFY peerVerifyModeChanged FINAL)
    Q_PROPERTY(QUrl caCertificates READ caCertificates WRITE setCaCertificates
               NOTIFY caCertificatesChanged FINAL)
    Q_PROPERTY(QString preSharedKeyIdentityHint READ preSharedKeyIdentityHint
               WRITE setPreSharedKeyIdentityHint NOTIFY preSharedKeyIdentityHintChanged FINAL)
    Q_PROPERTY(QString certificateFingerprint READ certificateFingerprint
               NOTIFY certificateFingerprintChanged FINAL)
    Q_PROPERTY(QUrl url READ url NOTIFY urlChanged FINAL)
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged FINAL)
    Q_PROPERTY(Error error READ error NOTIFY errorChanged FINAL)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorChanged FINAL)
    Q_PROPERTY(int connectionCount READ connectionCount NOTIFY connectionCountChanged FINAL)
    Q_PROPERTY(qws::ConnectionModel *connections READ connections CONSTANT FINAL)

public:
    /// Mirrors qws::WebSocketServer::SslMode (same values). Fixed underlying type: QML may assign any
    /// number to the property, and loading an out-of-range value of an unfixed enum is undefined.
    enum SslMode : int {
        SecureMode = qws::WebSocketServer::SecureMode,
        NonSecureMode = qws::WebSocketServer::NonSecureMode,
    };
    Q_ENUM(SslMode)

    /// Client certificates in secure mode; the values of QSslSocket::PeerVerifyMode.
    enum PeerVerifyMode : int {
        VerifyNone = QSslSocket::VerifyNone, ///< do not ask for one (default)
        QueryPeer = QSslSocket::QueryPeer,   ///< ask; report problems (peerVerifyError, sslErrors), go on
        VerifyPeer = QSslSocket::VerifyPeer, ///< require one that verifies against caCertificates
    };
    Q_ENUM(PeerVerifyMode)

    enum Error {
        NoError = 0,
        InvalidValueError, ///< a property was given a value it cannot take; the old value stays
        ListenError,       ///< the listener could not start (address in use, permission, bad address)
        TlsError,          ///< certificate/key unreadable, invalid, mismatched, or generation failed
        HandshakeError,    ///< the engine's serverError: a client's handshake failed on the server side
        AcceptError,       ///< the engine's acceptError: accept() failed (e.g. out of descriptors)
    };
    Q_ENUM(Error)

    /// Why a client's handshake failed (handshakeFailed()); the values of
    /// qws::WebSocketServer::HandshakeFailure. Prefixed: QML enums share one namespace per type.
    enum HandshakeFailure {
        HandshakeBadRequest = int(qws::WebSocketServer::HandshakeFailure::BadRequest),
        HandshakeTimeout = int(qws::WebSocketServer::HandshakeFailure::Timeout),
        HandshakeOriginRefused = int(qws::WebSocketServer::HandshakeFailure::OriginRefused),
        HandshakeTlsFailed = int(qws::WebSocketServer::HandshakeFailure::TlsFailed),
        HandshakeServerFull = int(qws::WebSocketServer::HandshakeFailure::ServerFull),
        HandshakeConnectionLost = int(qws::WebSocketServer::HandshakeFailure::ConnectionLost),
    };
    Q_ENUM(HandshakeFailure)

    explicit QmlWebSocketServer(QObject *parent = nullptr);
    ~QmlWebSocketServer() override;

    void classBegin() override;
    void componentComplete() override;

    QString host() const { return m_host; }
    void setHost(const QString &host);
    int port() const { return m_port; }
    void setPort(int port);
    SslMode secureMode() const { return m_secureMode; }
    void setSecureMode(SslMode mode);
    int handshakeTimeout() const { return m_handshakeTimeout; }
    void setHandshakeTimeout(int ms);
    int maxPendingConnections() const { return m_maxPending; }
    void setMaxPendingConnections(int count);
    QString serverName() const { return m_serverName; }
    void setServerName(const QString &name);
    bool listen() const { return m_listen; }
    void setListen(bool listen);
    bool accepting() const { return m_accepting; }
    void setAccepting(bool accepting);
    QStringList supportedSubprotocols() const { return m_subprotocols; }
    void setSupportedSubprotocols(const QStringList &protocols);
    bool compression() const { return m_compression; }
    void setCompression(bool enabled);
    double maxMessageSize() const { return double(m_maxMessageSize); }
    void setMaxMessageSize(double bytes);
    QStringList allowedOrigins() const;
    void setAllowedOrigins(const QStringList &origins);
    QUrl certificate() const { return m_certificate; }
    void setCertificate(const QUrl &file);
    QUrl privateKey() const { return m_privateKey; }
    void setPrivateKey(const QUrl &file);
    PeerVerifyMode peerVerifyMode() const { return m_peerVerifyMode; }
    void setPeerVerifyMode(PeerVerifyMode mode);
    QUrl caCertificates() const { return m_caCertificates; }
    void setCaCertificates(const QUrl &file);
    QString preSharedKeyIdentityHint() const { return m_pskHint; }
    void setPreSharedKeyIdentityHint(const QString &hint);
    QString certificateFingerprint() const { return m_fingerprint; }

    QUrl url() const { return m_url; }
    bool isListening() const { return m_listening; }
    Error error() const { return m_error; }
    QString errorString() const { return m_errorString; }
    int connectionCount() const { return m_model->count(); }
    ConnectionModel *connections() const { return m_model; }

    Q_INVOKABLE void close();
    Q_INVOKABLE void pauseAccepting();
    Q_INVOKABLE void resumeAccepting();
    Q_INVOKABLE int broadcastTextMessage(const QString &message);
    Q_INVOKABLE int broadcastBinaryMessage(const QByteArray &message);
    /// C++ only: upgrade a socket accepted elsewhere (an HTTP server sharing the port); see the .cpp.
    void handleConnection(QTcpSocket *socket); // qmlwebsocketserver_engine.cpp

Q_SIGNALS:
    void hostChanged();
    void portChanged();
    void secureModeChanged();
    void handshakeTimeoutChanged();
    void maxPendingConnectionsChanged();
    void serverNameChanged();
    void listenChanged();
    void acceptingChanged();
    void supportedSubprotocolsChanged();
    void compressionChanged();
    void maxMessageSizeChanged();
    void allowedOriginsChanged();
    void certificateChanged();
    void privateKeyChanged();
    void peerVerifyModeChanged();
    void caCertificatesChanged();
    void preSharedKeyIdentityHintChanged();
    void certificateFingerprintChanged();
    void urlChanged();
    void listeningChanged();
    void errorChanged();
    void connectionCountChanged();

    void clientConnected(qws::QmlWebSocket *socket);
    /// After the socket's own textMessageReceived / binaryMessageReceived / disconnected (one handler for
    /// every connection; beyond QWebSocketServer).
    void textMessageReceived(qws::QmlWebSocket *socket, const QString &message);
    void binaryMessageReceived(qws::QmlWebSocket *socket, const QByteArray &message);
    void clientDisconnected(qws::QmlWebSocket *socket);
    void serverError(qws::QmlWebSocketServer::Error error);
    void acceptError(int socketError);
    void closed();
    void originAuthenticationRequired(qws::QmlOriginAuthenticator *authenticator);
    void sslErrors(const QVariantList &errors);
    void peerVerifyError(const QVariantMap &error);
    void preSharedKeyAuthenticationRequired(qws::QmlPreSharedKeyAuthenticator *authenticator);
    void handshakeFailed(const QString &peerAddress, int peerPort, qws::QmlWebSocketServer::HandshakeFailure reason,
                         const QString &errorString);

protected:
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

private:
    // qmlwebsocketserver.cpp
    void setError(Error error, const QString &text);
    void clearError();
    void rejectValue(const QString &text);
    void requestRestart();
    // certificate, privateKey, caCertificates: a local file URL or refused; restarts in secure mode.
    void setTlsFile(QUrl &member, const QUrl &file, const char *property, void (QmlWebSocketServer::*changed)());
    void update();
    void setListening(bool listening, const QUrl &url);
    void setFingerprint(const QString &fingerprint);
    void takePendingConnections();
    void dropSocket(qws::QmlWebSocket *socket);
    // qmlwebsocketserver_engine.cpp: the engine object, its signals, the engine-thread bridge
    void startListening();
    void stopListening();
    void createEngine();
    void destroyEngine();
    void handleServerError(int closeCode);
    void handleAcceptError(QAbstractSocket::SocketError error);
    void handleSslErrors(const QList<QSslError> &errors);
    void handlePeerVerifyError(const QSslError &error);
    void updateHandshakeFailedForwarding();
    void handleHandshakeFailed(const QHostAddress &address, quint16 port,
                               qws::WebSocketServer::HandshakeFailure reason, const QString &text);

    ConnectionModel *m_model = nullptr;
    std::unique_ptr<qws::WebSocketServer> m_engine;
    std::shared_ptr<AuthenticationBridge> m_bridge;
    std::shared_ptr<OriginPolicy> m_policy; // shared with engine-thread handlers

    QString m_host;
    int m_port = 0;
    SslMode m_secureMode = NonSecureMode;
    int m_handshakeTimeout = 10000;
    int m_maxPending = 30;
    QString m_serverName;
    bool m_listen = true;
    bool m_accepting = true;
    QStringList m_subprotocols;
    bool m_compression = true;
    qint64 m_maxMessageSize = 64 * 1024 * 1024;
    QUrl m_certificate;
    QUrl m_privateKey;
    PeerVerifyMode m_peerVerifyMode = VerifyNone;
    QUrl m_caCertificates;
    QString m_pskHint;
    QString m_fingerprint;
    QSslConfiguration m_generatedTls; // the self-signed certificate, kept across restarts
    QString m_generatedFingerprint;

    QUrl m_url;
    bool m_listening = false;
    Error m_error = NoError;
    QString m_errorString;

    bool m_complete = false;
    bool m_restartPending = false;
    bool m_needsRestart = false;
    bool m_destroying = false;
    bool m_inListen = false;
    int m_handshakeFailedHandlers = 0;            // connections to handshakeFailed (connectNotify)
    QMetaObject::Connection m_handshakeFailedForward; // engine → handshakeFailed, only while handled
};

} // namespace qws
