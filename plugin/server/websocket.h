// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocket: the server side of one connection, with the members of QWebSocket that fit it.
#pragma once

#include "quickwebsockets_global.h"
#include "stats.h"
#include "websocketprotocol.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QScopedPointer>
#include <QtCore/QString>
#include <QtCore/QUrl>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QNetworkRequest>

namespace qws {

class WebSocketPrivate;

/// Created by WebSocketServer only. Lives on the thread that took it (moveToThread works); the engine
/// thread that owns its socket delivers its events there in batches.
class QWS_EXPORT WebSocket : public QObject
{
    Q_OBJECT
public:
    ~WebSocket() override;

    /// A process-unique, stable id (never reused while the process runs).
    quint64 id() const;

    void abort();
    QAbstractSocket::SocketError error() const;
    QString errorString() const;
    bool isValid() const;

    QHostAddress localAddress() const;
    quint16 localPort() const;
    QHostAddress peerAddress() const;
    quint16 peerPort() const;
    QString peerName() const;

    QString origin() const;
    QUrl requestUrl() const;
    QNetworkRequest request() const;              ///< URL + every request header
    QList<QPair<QByteArray, QByteArray>> requestHeaders() const;
    QString resourceName() const;                 ///< the request path
    QString subprotocol() const;
    bool isCompressed() const;                    ///< permessage-deflate negotiated
    WebSocketProtocol::Version version() const;

    QAbstractSocket::SocketState state() const;
    WebSocketProtocol::CloseCode closeCode() const;
    QString closeReason() const;

    /// Queue a message; returns the payload size queued, or -1 when the socket cannot send
    /// (closing, or the outbound queue is full under OutboundPolicy::RejectSends).
    qint64 sendTextMessage(const QString &message);
    qint64 sendBinaryMessage(const QByteArray &data);
    void ping(const QByteArray &payload = QByteArray());
    void close(WebSocketProtocol::CloseCode closeCode = WebSocketProtocol::CloseCodeNormal,
               const QString &reason = QString());

    qint64 bytesToWrite() const;

    /// Stop/restart reading from the peer (TCP backpressure); messages already received still arrive.
    void pauseReading();
    void resumeReading();
    bool isReadingPaused() const;

    ConnectionStats stats() const;

Q_SIGNALS:
    // The signals most connected come first: QObject sizes a connected object's signal table by the
    // highest signal index connected (rounded up to 8), so these keep it at its smallest (8 entries).
    void textMessageReceived(const QString &message);
    void binaryMessageReceived(const QByteArray &message);
    void disconnected();
    void errorOccurred(QAbstractSocket::SocketError error);
    void stateChanged(QAbstractSocket::SocketState state);
    void aboutToClose();
    void textFrameReceived(const QString &frame, bool isLastFrame);
    void binaryFrameReceived(const QByteArray &frame, bool isLastFrame);
    void pong(quint64 elapsedTime, const QByteArray &payload);
    void bytesWritten(qint64 bytes);
    /// The outbound queue passed WebSocketServer::maxOutboundQueue(); see OutboundPolicy.
    void outboundQueueFull();

protected:
    bool event(QEvent *event) override;   // batches of engine events arrive here
    void connectNotify(const QMetaMethod &signal) override;

private:
    friend class WebSocketServerPrivate;
    explicit WebSocket(WebSocketPrivate &dd);
    Q_DISABLE_COPY(WebSocket)
    QScopedPointer<WebSocketPrivate> d_ptr;
    Q_DECLARE_PRIVATE(WebSocket)
};

} // namespace qws
