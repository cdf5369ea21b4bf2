// SPDX-License-Identifier: BSD-3-Clause
// qws::QmlWebSocket: the QML handle of one server-side connection (QML type WebSocket).
#pragma once

#include <QtCore/QDateTime>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QUrl>
#include <QtCore/QVariantMap>
#include <QtNetwork/QAbstractSocket>
#include <QtQml/qqmlregistration.h>

#include <memory>

#include "stats.h"

namespace qws {

class WebSocket;
class QmlWebSocketServer;

class QmlWebSocket : public QObject
{
    Q_OBJECT
    QML_NAMED_ELEMENT(WebSocket)
    QML_UNCREATABLE("WebSocket objects are created by a WebSocketServer for each client")

    Q_PROPERTY(double id READ id CONSTANT FINAL)
    Q_PROPERTY(QString peerAddress READ peerAddress CONSTANT FINAL)
    Q_PROPERTY(int peerPort READ peerPort CONSTANT FINAL)
    Q_PROPERTY(QString origin READ origin CONSTANT FINAL)
    Q_PROPERTY(QUrl requestUrl READ requestUrl CONSTANT FINAL)
    Q_PROPERTY(QString path READ path CONSTANT FINAL)
    Q_PROPERTY(QVariantMap headers READ headers CONSTANT FINAL)
    Q_PROPERTY(QString subprotocol READ subprotocol CONSTANT FINAL)
    Q_PROPERTY(bool compressed READ compressed CONSTANT FINAL)
    Q_PROPERTY(State state READ state NOTIFY stateChanged FINAL)
    Q_PROPERTY(QDateTime connectedAt READ connectedAt CONSTANT FINAL)
    Q_PROPERTY(double messagesReceived READ messagesReceived NOTIFY countersChanged FINAL)
    Q_PROPERTY(double messagesSent READ messagesSent NOTIFY countersChanged FINAL)
    Q_PROPERTY(double bytesReceived READ bytesReceived NOTIFY countersChanged FINAL)
    Q_PROPERTY(double bytesSent READ bytesSent NOTIFY countersChanged FINAL)
    Q_PROPERTY(double roundTripTime READ roundTripTime NOTIFY countersChanged FINAL)
    Q_PROPERTY(int closeCode READ closeCode NOTIFY closed FINAL)
    Q_PROPERTY(QString closeReason READ closeReason NOTIFY closed FINAL)

public:
    /// Values of QAbstractSocket::SocketState that a server-side connection goes through.
    enum State {
        Unconnected = QAbstractSocket::UnconnectedState,
        Connecting = QAbstractSocket::ConnectingState,
        Connected = QAbstractSocket::ConnectedState,
        Closing = QAbstractSocket::ClosingState,
    };
    Q_ENUM(State)

    /// Takes ownership of `socket` (which must live on this object's thread).
    explicit QmlWebSocket(qws::WebSocket *socket, QObject *parent = nullptr);
    ~QmlWebSocket() override;

    double id() const { return double(m_id); }
    quint64 socketId() const { return m_id; }
    QString peerAddress() const { return m_peerAddress; }
    int peerPort() const { return m_peerPort; }
    QString origin() const { return m_origin; }
    QUrl requestUrl() const { return m_requestUrl; }
    QString path() const { return m_path; }
    QVariantMap headers() const { return m_headers; }
    QString subprotocol() const { return m_subprotocol; }
    bool compressed() const { return m_compressed; }
    State state() const { return m_state; }
    QDateTime connectedAt() const;
    double messagesReceived() const { return double(stats().messagesReceived); }
    double messagesSent() const { return double(stats().messagesSent); }
    double bytesReceived() const { return double(stats().bytesReceived); }
    double bytesSent() const { return double(stats().bytesSent); }
    double roundTripTime() const;
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }

    /// Live counters, read from the engine (relaxed atomics; cheap).
    ConnectionStats stats() const;
    /// Called by the connection model's ≤ 10 Hz timer when it saw the counters move.
    void notifyCountersChanged() { Q_EMIT countersChanged(); }
    /// The server element ends this handle when its engine goes away (secure mode switched):
    /// reports disconnected() (and finished()) now if it has not yet.
    void terminate() { handleDisconnected(); }
    /// The engine connection, for the server element.
    qws::WebSocket *engineSocket() const { return m_socket.get(); }
    /// The element whose server-level message signals follow this socket's own (null: none).
    void setServerElement(QmlWebSocketServer *server);

    Q_INVOKABLE double sendTextMessage(const QString &message);
    Q_INVOKABLE double sendBinaryMessage(const QByteArray &message);
    Q_INVOKABLE void ping(const QByteArray &payload = QByteArray());
    Q_INVOKABLE void close(int code = 1000, const QString &reason = QString());
    Q_INVOKABLE void abort();

Q_SIGNALS:
    void textMessageReceived(const QString &message);
    void binaryMessageReceived(const QByteArray &message);
    void pong(double elapsed);
    void disconnected();
    void stateChanged();
    void countersChanged();
    void closed();
    /// Internal: emitted after disconnected(); the server then drops the row and deletes this object.
    void finished(qws::QmlWebSocket *socket);

private:
    void handleStateChanged(QAbstractSocket::SocketState state);
    void handleDisconnected();
    void setState(State state);
    void deliverText(const QString &message);
    void deliverBinary(const QByteArray &message);

    std::unique_ptr<qws::WebSocket> m_socket;
    QPointer<QmlWebSocketServer> m_server;
    quint64 m_id = 0;
    QString m_peerAddress;
    int m_peerPort = 0;
    QString m_origin;
    QUrl m_requestUrl;
    QString m_path;
    QVariantMap m_headers;
    QString m_subprotocol;
    bool m_compressed = false;
    State m_state = Connected;
    int m_closeCode = 0;
    QString m_closeReason;
    bool m_finished = false;
    bool m_aborted = false; // abort() was called: closeCode reads 1006, not the engine's default
};

} // namespace qws
