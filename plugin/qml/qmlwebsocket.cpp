// SPDX-License-Identifier: BSD-3-Clause
// qws::QmlWebSocket: adapts one qws::WebSocket to QML. No protocol logic here.
#include "qmlwebsocket.h"

#include "qmlwebsocketserver.h"
#include "websocket.h"

#include <QtQml/QJSEngine>

namespace qws {

/*!
    \qmltype WebSocket
    \inqmlmodule QuickWebSockets
    \brief One client connection of a WebSocketServer.

    A WebSocket is created by its WebSocketServer for every client whose handshake succeeded and is
    handed to QML through \l{WebSocketServer::clientConnected}{clientConnected} and the server's
    \c connections model. It cannot be created from QML.

    \section2 Lifetime
    While the connection is open the server owns the object (C++ ownership, not parented to the
    server, so the garbage collector never frees an open connection). When the connection ends,
    \l disconnected() is emitted, then the object leaves the \c connections model and is deleted at
    the next turn of the event loop (\c deleteLater). JavaScript references to it become \c null
    then: copy \l closeCode, \l closeReason or the counters in \c onDisconnected if you need them
    later. Destroying the server closes every open WebSocket with 1001 (Going Away) and deletes it
    at once (without \l disconnected()); a server restart (see WebSocketServer) closes them with 1001
    too, and they go the usual way: \l disconnected(), then deletion.

    Handshake properties (\l id, \l peerAddress, \l origin, \l headers, ...) are constant. The
    counters are read live from the engine whenever a script reads them; their change signal is
    coalesced to at most ten per second, so bindings on them never run once per message.
*/

QmlWebSocket::QmlWebSocket(qws::WebSocket *socket, QObject *parent)
    : QObject(parent), m_socket(socket)
{
    Q_ASSERT(socket);
    m_id = socket->id();
    QHostAddress peer = socket->peerAddress();
    bool mapped = false;
    const quint32 ipv4 = peer.toIPv4Address(&mapped); // ::ffff:a.b.c.d from a dual-stack listener
    if (mapped && peer.protocol() == QAbstractSocket::IPv6Protocol)
        peer = QHostAddress(ipv4);
    m_peerAddress = peer.toString();
    m_peerPort = socket->peerPort();
    m_origin = socket->origin();
    m_requestUrl = socket->requestUrl();
    m_path = socket->resourceName();
    if (m_path.isEmpty())
        m_path = m_requestUrl.path();
    m_subprotocol = socket->subprotocol();
    m_compressed = socket->isCompressed();
    for (const auto &[name, value] : socket->requestHeaders()) {
        // Lower-case names (HTTP header names are case-insensitive); repeated headers joined per RFC 9110 §5.3.
        const QString key = QString::fromLatin1(name).toLower();
        const QString text = QString::fromUtf8(value);
        const auto it = m_headers.find(key);
        if (it == m_headers.end())
            m_headers.insert(key, text);
        else
            *it = it->toString() + QStringLiteral(", ") + text;
    }
    handleStateChanged(socket->state());

    connect(socket, &WebSocket::textMessageReceived, this, &QmlWebSocket::deliverText);
    connect(socket, &WebSocket::binaryMessageReceived, this, &QmlWebSocket::deliverBinary);
    connect(socket, &WebSocket::pong, this,
            [this](quint64 elapsed, const QByteArray &) { Q_EMIT pong(double(elapsed)); });
    connect(socket, &WebSocket::stateChanged, this, &QmlWebSocket::handleStateChanged);
    connect(socket, &WebSocket::disconnected, this, &QmlWebSocket::handleDisconnected);
    if (socket->state() == QAbstractSocket::UnconnectedState) {
        // Gone before we took it: still report it once, from the event loop.
        QMetaObject::invokeMethod(this, &QmlWebSocket::handleDisconnected, Qt::QueuedConnection);
    }
}

QmlWebSocket::~QmlWebSocket()
{
    if (m_socket) {
        // Our slots must not run while the engine object goes away.
        m_socket->disconnect(this);
        if (m_socket->state() != QAbstractSocket::UnconnectedState
            && m_socket->state() != QAbstractSocket::ClosingState)
            m_socket->close(WebSocketProtocol::CloseCodeGoingAway, QStringLiteral("Server shutting down"));
    }
}

/*!
    \qmlproperty real WebSocket::id
    A process-unique, stable number for this connection; never reused while the process runs.
*/
/*!
    \qmlproperty string WebSocket::peerAddress
    The client's IP address, as text. IPv4 clients of a dual-stack listener (IPv4-mapped IPv6
    addresses, \c{::ffff:a.b.c.d}) are shown as plain IPv4.
*/
/*!
    \qmlproperty int WebSocket::peerPort
    The client's TCP port.
*/
/*!
    \qmlproperty string WebSocket::origin
    The \c Origin header of the handshake (empty when the client sent none).
*/
/*!
    \qmlproperty url WebSocket::requestUrl
    The URL the client asked for (scheme, host, port, path and query).
*/
/*!
    \qmlproperty string WebSocket::path
    The path of the request, e.g. \c "/chat".
*/
/*!
    \qmlproperty var WebSocket::headers
    Every handshake request header as an object: lower-case name → value. Repeated headers are joined
    with ", ".
*/
/*!
    \qmlproperty string WebSocket::subprotocol
    The negotiated subprotocol, empty when none.
*/
/*!
    \qmlproperty bool WebSocket::compressed
    True when permessage-deflate (RFC 7692) was negotiated.
*/
/*!
    \qmlproperty enumeration WebSocket::state
    \c WebSocket.Connected, \c WebSocket.Closing or \c WebSocket.Unconnected.
*/

QDateTime QmlWebSocket::connectedAt() const
{
    const qint64 ms = stats().connectedAtMs;
    return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms) : QDateTime();
}

/*!
    \qmlproperty date WebSocket::connectedAt
    When the handshake completed.
*/
/*!
    \qmlproperty real WebSocket::messagesReceived
    \qmlproperty real WebSocket::messagesSent
    \qmlproperty real WebSocket::bytesReceived
    \qmlproperty real WebSocket::bytesSent
    Message counters and payload bytes (after decompression / before compression). Reads are live;
    the change signal is coalesced to at most 10 Hz.
*/

double QmlWebSocket::roundTripTime() const
{
    const qint64 us = stats().roundTripTimeUs;
    return us < 0 ? -1.0 : double(us) / 1000.0;
}

/*!
    \qmlproperty real WebSocket::roundTripTime
    The last ping → pong round trip in milliseconds, -1 until one was measured.
*/
/*!
    \qmlproperty int WebSocket::closeCode
    \qmlproperty string WebSocket::closeReason
    The close code and reason once the connection closed (0 and empty before).
*/

ConnectionStats QmlWebSocket::stats() const
{
    return m_socket ? m_socket->stats() : ConnectionStats{};
}

/*!
    \qmlmethod real WebSocket::sendTextMessage(string message)
    Queues a text message; returns its size in bytes, or -1 when the connection cannot send.
*/
double QmlWebSocket::sendTextMessage(const QString &message)
{
    if (!m_socket || m_state != Connected)
        return -1;
    return double(m_socket->sendTextMessage(message));
}

/*!
    \qmlmethod real WebSocket::sendBinaryMessage(ArrayBuffer message)
    Queues a binary message; returns its size in bytes, or -1 when the connection cannot send.
*/
double QmlWebSocket::sendBinaryMessage(const QByteArray &message)
{
    if (!m_socket || m_state != Connected)
        return -1;
    return double(m_socket->sendBinaryMessage(message));
}

/*!
    \qmlmethod void WebSocket::ping(ArrayBuffer payload)
    Sends a ping (payload optional, at most 125 bytes); \l pong() reports the round trip.
*/
void QmlWebSocket::ping(const QByteArray &payload)
{
    if (payload.size() > 125) {
        if (QJSEngine *engine = qjsEngine(this))
            engine->throwError(QJSValue::RangeError,
                               QStringLiteral("WebSocket.ping: payload longer than 125 bytes"));
        return;
    }
    if (m_socket && m_state == Connected)
        m_socket->ping(payload);
}

/*!
    \qmlmethod void WebSocket::close(int code, string reason)
    Starts the closing handshake with \a code (default 1000) and \a reason (at most 123 UTF-8 bytes).
    A code that may not be sent (RFC 6455 §7.4: 1000–1003, 1007–1011, 3000–4999) throws a RangeError.
*/
void QmlWebSocket::close(int code, const QString &reason)
{
    const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011)
            || (code >= 3000 && code <= 4999);
    if (!valid || reason.toUtf8().size() > 123) {
        if (QJSEngine *engine = qjsEngine(this))
            engine->throwError(QJSValue::RangeError,
                               valid ? QStringLiteral("WebSocket.close: reason longer than 123 bytes")
                                     : QStringLiteral("WebSocket.close: %1 is not a close code an "
                                                      "endpoint may send").arg(code));
        return;
    }
    if (m_socket && m_state == Connected)
        m_socket->close(WebSocketProtocol::CloseCode(code), reason);
}

/*!
    \qmlmethod void WebSocket::abort()
    Drops the TCP connection at once, without a closing handshake: no close frame is sent and
    queued outgoing data is discarded. The client sees the connection end abnormally. \l state
    becomes \c WebSocket.Unconnected, \l closeCode reads 1006 (abnormal closure, RFC 6455 §7.1.5)
    with the reason "aborted", and \l disconnected() is emitted once, before abort() returns.
    Does nothing once the connection has ended.
*/
void QmlWebSocket::abort()
{
    if (!m_socket || m_finished || m_socket->state() == QAbstractSocket::UnconnectedState)
        return; // already ended: its own close code stands
    m_aborted = true;
    m_socket->abort(); // the engine emits disconnected() before returning → handleDisconnected()
}

/*!
    \qmlsignal WebSocket::textMessageReceived(string message)
    \qmlsignal WebSocket::binaryMessageReceived(ArrayBuffer message)
    A whole message arrived. Many messages that arrive together are delivered in one batch, in order.
    The server's \l{WebSocketServer::textMessageReceived}{textMessageReceived} /
    \l{WebSocketServer::binaryMessageReceived}{binaryMessageReceived} follow, with this socket: one
    handler there serves every connection.
*/
/*!
    \qmlsignal WebSocket::pong(real elapsed)
    The answer to \l ping() arrived, \a elapsed milliseconds after the ping was sent.
*/
/*!
    \qmlsignal WebSocket::disconnected()
    The connection ended; \l closeCode and \l closeReason are set. The object is deleted soon after
    (see Lifetime).
*/

void QmlWebSocket::handleStateChanged(QAbstractSocket::SocketState state)
{
    switch (state) {
    case QAbstractSocket::UnconnectedState: setState(Unconnected); break;
    case QAbstractSocket::ClosingState: setState(Closing); break;
    case QAbstractSocket::ConnectedState: setState(Connected); break;
    default: setState(Connecting); break;
    }
}

void QmlWebSocket::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged();
}

void QmlWebSocket::setServerElement(QmlWebSocketServer *server)
{
    m_server = server;
}

// The socket's own signal, then the server element's (as the engine's server-level signals). A handler may
// destroy the server element, and with it this object: hence the guard.
void QmlWebSocket::deliverText(const QString &message)
{
    const QPointer<QmlWebSocket> guard(this);
    Q_EMIT textMessageReceived(message);
    if (guard && m_server)
        Q_EMIT m_server->textMessageReceived(this, message);
}

namespace {
/// A binary message reaches JavaScript as an ArrayBuffer whose bytes the QML engine's collector does not
/// count (Qt 6.4 weighs its own heap): handlers that drop them leave them to a collection that a stream
/// of large messages, allocating little else, never triggers. 200 echoed 16 MiB messages held 3.2 GB.
/// So after this many bytes of binary messages on a thread, the engine is asked to collect.
constexpr qint64 kCollectAfterBinaryBytes = qint64(64) * 1024 * 1024;
thread_local qint64 t_binaryBytesSinceCollect = 0;
} // namespace

void QmlWebSocket::deliverBinary(const QByteArray &message)
{
    const QPointer<QmlWebSocket> guard(this);
    Q_EMIT binaryMessageReceived(message);
    if (guard && m_server)
        Q_EMIT m_server->binaryMessageReceived(this, message);
    t_binaryBytesSinceCollect += message.size();
    // The engine is looked up only when a collection is due (not per message); if a handler destroyed
    // this socket, the next message's delivery collects instead.
    if (t_binaryBytesSinceCollect < kCollectAfterBinaryBytes || !guard)
        return;
    if (QJSEngine *engine = qjsEngine(m_server ? static_cast<QObject *>(m_server) : this)) {
        t_binaryBytesSinceCollect = 0;
        engine->collectGarbage();
    }
}

void QmlWebSocket::handleDisconnected()
{
    if (m_finished)
        return;
    m_finished = true;
    if (m_aborted) {
        m_closeCode = int(WebSocketProtocol::CloseCodeAbnormalDisconnection);
        m_closeReason = QStringLiteral("aborted");
    } else if (m_socket) {
        m_closeCode = int(m_socket->closeCode());
        m_closeReason = m_socket->closeReason();
    }
    setState(Unconnected);
    Q_EMIT closed();
    Q_EMIT countersChanged();
    Q_EMIT disconnected();
    Q_EMIT finished(this);
}

} // namespace qws
