// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocket: the owner-thread face of one server connection, and its qdoc.
#include "websocket.h"

#include "websocket_p.h"

#include "defaults_p.h"

#include <protocol/utf16.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QMetaMethod>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QScopeGuard>

#include <chrono>
#include <cstring>

namespace qws {

/*!
    \class qws::WebSocket
    \inmodule QuickWebSockets
    \brief The server side of one WebSocket connection, with the QWebSocket members that fit it.

    Made by WebSocketServer and handed out by WebSocketServer::nextPendingConnection(); the caller
    owns it. It lives on the thread that took it (moveToThread() works). The engine thread that owns
    the socket delivers events there in batches: one posted event carries everything that arrived
    since the last one. A batch is delivered in slices: once the owner thread has spent about 4 ms
    on messages in one pass of its event loop, the rest waits behind that pass's other events
    (paint, timers), in order, so a GUI stays responsive under a flood. send…() only queue; framing, compression and writing happen on the engine.

    Frame signals: messages are reassembled by the engine, so textFrameReceived() and
    binaryFrameReceived() are emitted once per message with \c isLastFrame true, just before the
    message signal. disconnected() is emitted exactly once.
*/

/*! \fn void qws::WebSocket::aboutToClose()
    Emitted when the closing handshake starts (close(), or the peer's close frame). */
/*! \fn void qws::WebSocket::disconnected()
    Emitted exactly once, when the connection is gone. */
/*! \fn void qws::WebSocket::stateChanged(QAbstractSocket::SocketState state)
    Emitted when state() becomes \a state: ClosingState, then UnconnectedState. */
/*! \fn void qws::WebSocket::errorOccurred(QAbstractSocket::SocketError error)
    Emitted with \a error (RemoteHostClosedError when TCP ended without a closing handshake), just
    before disconnected(). */
/*! \fn void qws::WebSocket::textMessageReceived(const QString &message)
    Emitted for each text \a message. */
/*! \fn void qws::WebSocket::binaryMessageReceived(const QByteArray &message)
    Emitted for each binary \a message. */
/*! \fn void qws::WebSocket::textFrameReceived(const QString &frame, bool isLastFrame)
    Emitted once per text message, as one \a frame with \a isLastFrame true (see the class notes). */
/*! \fn void qws::WebSocket::binaryFrameReceived(const QByteArray &frame, bool isLastFrame)
    Emitted once per binary message, as one \a frame with \a isLastFrame true. */
/*! \fn void qws::WebSocket::pong(quint64 elapsedTime, const QByteArray &payload)
    Emitted when a pong with \a payload arrives; \a elapsedTime is the milliseconds since the
    matching ping() (0 for an unsolicited pong). Keepalive pongs are not signalled. */
/*! \fn void qws::WebSocket::bytesWritten(qint64 bytes)
    Emitted when the network took \a bytes more of this connection's output. */
/*! \fn void qws::WebSocket::outboundQueueFull()
    Emitted when a send…() would have passed WebSocketServer::maxOutboundQueue(); see OutboundPolicy. */

WebSocketPrivate::WebSocketPrivate(std::shared_ptr<Channel> c)
    : channel(std::move(c))
{
}

WebSocket *WebSocketPrivate::create(std::shared_ptr<Channel> channel, WebSocketServer *server)
{
    auto *d = new WebSocketPrivate(std::move(channel));
    d->server = server;
    auto *socket = new WebSocket(*d);
    // Made on the server's thread: its batches travel in the server's round event until it moves.
    d->channel->setTarget(socket, false, true);
    return socket;
}

void WebSocketPrivate::deliverBatch(QObject *target)
{
    static_cast<WebSocket *>(target)->d_func()->processBatch();
}

void WebSocketPrivate::claim(WebSocket *socket)
{
    socket->d_func()->channel->claim();
}

/*! \internal */
WebSocket::WebSocket(WebSocketPrivate &dd)
    : QObject(nullptr)
    , d_ptr(&dd)
{
    d_ptr->q_ptr = this;
}

/*!
    Destroys the socket. A connection still open is closed with 1001 Going Away; the engine finishes
    the closing handshake on its own.
*/
WebSocket::~WebSocket()
{
    Q_D(WebSocket);
    d->channel->setTarget(nullptr, false);
    if (d->state == QAbstractSocket::ConnectedState) {
        OutCommand command;
        command.kind = OutCommand::Kind::Close;
        command.code = WebSocketProtocol::CloseCodeGoingAway;
        command.data = QByteArrayLiteral("connection closed");
        d->channel->submit(std::move(command));
    }
}

// ---- owner-thread state ------------------------------------------------------------------------

void WebSocketPrivate::setState(QAbstractSocket::SocketState newState)
{
    Q_Q(WebSocket);
    if (state == newState)
        return;
    state = newState;
    Q_EMIT q->stateChanged(newState);
}

void WebSocketPrivate::beginClosing()
{
    Q_Q(WebSocket);
    if (state != QAbstractSocket::ConnectedState)
        return;
    QPointer<WebSocket> guard(q);
    Q_EMIT q->aboutToClose();
    if (guard)
        setState(QAbstractSocket::ClosingState);
}

void WebSocketPrivate::finish(const InEvent &event)
{
    Q_Q(WebSocket);
    if (state == QAbstractSocket::UnconnectedState)
        return;
    closeCode = event.code;
    setCloseReason(event.text);
    QPointer<WebSocket> guard(q);
    if (event.error != QAbstractSocket::UnknownSocketError) {
        error = event.error;
        setErrorString(event.error == QAbstractSocket::RemoteHostClosedError
                ? QStringLiteral("The remote host closed the connection")
                : QStringLiteral("Network error"));
        Q_EMIT q->errorOccurred(event.error);
        if (!guard)
            return;
    }
    setState(QAbstractSocket::UnconnectedState);
    if (guard)
        Q_EMIT q->disconnected();
    if (guard && server)
        Q_EMIT server->socketDisconnected(q);
}

void WebSocketPrivate::processBatch()
{
    Q_Q(WebSocket);
    if (state == QAbstractSocket::UnconnectedState) {
        channel->takeEvents();   // abort()ed: what is left is moot
        return;
    }
    // Deliver in slices within the owner thread's budget for this pass over its posted events; past
    // it, the rest waits at the back of the queue, behind paint and timer events (order is kept: the
    // channel's inbox stays the one queue, and its batch event stays outstanding meanwhile).
    const auto deadline = Channel::ownerPassDeadline();
    if (std::chrono::steady_clock::now() >= deadline) {
        channel->repost();
        return;
    }
    std::vector<InEvent> events;
    Channel::beginOwnerBatch();
    const auto end = qScopeGuard([] { Channel::endOwnerBatch(); });
    // Runs before `end` (declared after it): the delivered events go back (Channel::recycleEvents())
    // before the deferred wake-up that carries them to an engine thread is flushed.
    const auto recycle = qScopeGuard([&events] { Channel::recycleEvents(std::move(events)); });
    QPointer<WebSocket> guard(q);
    for (;;) {
        const bool more = channel->takeSlice(events, defaults::kOwnerSliceEvents);
        for (const InEvent &event : events) {
            if (!guard)
                return;   // deleted by a slot
            if (state == QAbstractSocket::UnconnectedState) {
                channel->takeEvents();   // abort()ed by a slot
                return;
            }
            deliver(event, guard);
        }
        if (!more || !guard)
            return;
        if (state == QAbstractSocket::UnconnectedState) {
            channel->takeEvents();
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            channel->repost();
            return;
        }
    }
}

void WebSocketPrivate::deliver(const InEvent &event, const QPointer<WebSocket> &guard)
{
    Q_Q(WebSocket);
    switch (event.kind) {
    case InEvent::Kind::Text: {
        // Each check after a slot ran: the guard first (the slot may have deleted the socket), then the
        // bit (it may have connected the next signal).
        if (channel->watches(Channel::WatchTextFrame))
            Q_EMIT q->textFrameReceived(event.text, true);
        if (guard && channel->watches(Channel::WatchTextMessage))
            Q_EMIT q->textMessageReceived(event.text);
        if (guard && server)
            Q_EMIT server->textMessageReceived(q, event.text);
        break;
    }
    case InEvent::Kind::Binary: {
        if (channel->watches(Channel::WatchBinaryFrame))
            Q_EMIT q->binaryFrameReceived(event.data, true);
        if (guard && channel->watches(Channel::WatchBinaryMessage))
            Q_EMIT q->binaryMessageReceived(event.data);
        if (guard && server)
            Q_EMIT server->binaryMessageReceived(q, event.data);
        break;
    }
    case InEvent::Kind::Pong:
        Q_EMIT q->pong(quint64(event.number), event.data);
        break;
    case InEvent::Kind::BytesWritten:
        Q_EMIT q->bytesWritten(event.number);
        break;
    case InEvent::Kind::PeerClosing:
        closeCode = event.code;
        setCloseReason(event.text);
        beginClosing();
        break;
    case InEvent::Kind::Failed:
        setErrorString(event.text);
        break;
    case InEvent::Kind::OutboundFull:   // the engine message handler's replies: once per read that refused
        Q_EMIT q->outboundQueueFull();
        if (guard && event.code) {
            closeCode = event.code;
            setCloseReason(event.text);
            beginClosing();
        }
        break;
    case InEvent::Kind::Disconnected:
        finish(event);
        break;
    }
}

bool WebSocketPrivate::admit(qint64 size)
{
    Q_Q(WebSocket);
    if (state != QAbstractSocket::ConnectedState)
        return false;
    const qint64 queued = channel->counters.outboundQueued.load(std::memory_order_relaxed);
    if (queued > 0 && queued + size > channel->maxOutboundQueue) {
        QPointer<WebSocket> guard(q);
        if (!outboundFullSignalled) {
            outboundFullSignalled = true;
            Q_EMIT q->outboundQueueFull();
        }
        if (guard && channel->outboundPolicy == OutboundPolicy::CloseConnection
            && state == QAbstractSocket::ConnectedState) {
            OutCommand command;
            command.kind = OutCommand::Kind::Close;
            command.code = WebSocketProtocol::CloseCodePolicyViolated;
            command.data = QByteArrayLiteral("outbound queue full");
            command.discardQueued = true;
            closeCode = WebSocketProtocol::CloseCodePolicyViolated;
            setCloseReason(QStringLiteral("outbound queue full"));
            beginClosing();
            channel->submit(std::move(command));
        }
        return false;
    }
    outboundFullSignalled = false;
    return true;
}

qint64 WebSocketPrivate::send(OutCommand::Kind kind, QByteArray data)
{
    const qint64 size = data.size();
    if (!admit(size))
        return -1;
    OutCommand command;
    command.kind = kind;
    command.data = std::move(data);
    if (!channel->submit(std::move(command), size))
        return -1;
    return size;
}

bool WebSocketPrivate::sendsInline(qsizetype size) const
{
    // A compressed connection's frames are made by the engine (its deflate stream is there).
    return size <= defaults::kInlineFrameMax && !channel->info.compressed;
}

// ---- the public API ------------------------------------------------------------------------------

/*! Returns a process-unique id of this connection (never reused while the process runs). */
quint64 WebSocket::id() const
{
    return d_func()->channel->info.id;
}

/*!
    Drops the connection at once, without a closing handshake. disconnected() is emitted before this
    returns; events still queued for this socket are discarded.
*/
void WebSocket::abort()
{
    Q_D(WebSocket);
    if (d->state == QAbstractSocket::UnconnectedState)
        return;
    OutCommand command;
    command.kind = OutCommand::Kind::Abort;
    d->channel->submit(std::move(command));
    InEvent event;
    event.kind = InEvent::Kind::Disconnected;
    event.code = d->closeCode;
    event.text = d->closeReason();
    d->finish(event);
}

/*! Returns the last socket error (UnknownSocketError when none). */
QAbstractSocket::SocketError WebSocket::error() const
{
    return QAbstractSocket::SocketError(d_func()->error);
}

/*! Returns a readable text for the last error or protocol failure. */
QString WebSocket::errorString() const
{
    return d_func()->errorString();
}

/*! Returns \c true while the connection is open (ConnectedState). */
bool WebSocket::isValid() const
{
    return d_func()->state == QAbstractSocket::ConnectedState;
}

/*! Returns the server's address of this connection. */
QHostAddress WebSocket::localAddress() const
{
    return d_func()->channel->info.local.toHostAddress();
}

/*! Returns the server's port of this connection. */
quint16 WebSocket::localPort() const
{
    return d_func()->channel->info.local.port;
}

/*! Returns the client's address. */
QHostAddress WebSocket::peerAddress() const
{
    return d_func()->channel->info.peer.toHostAddress();
}

/*! Returns the client's port. */
quint16 WebSocket::peerPort() const
{
    return d_func()->channel->info.peer.port;
}

/*! Returns the client's name: empty, as for any accepted socket (no reverse lookup is done). */
QString WebSocket::peerName() const
{
    return QString();
}

/*! Returns the Origin header of the handshake (empty when the client sent none). */
QString WebSocket::origin() const
{
    return QString::fromUtf8(d_func()->channel->info.field(ConnectionInfo::Origin));
}

/*! Returns the URL the client asked for: ws(s)://Host + request target. */
QUrl WebSocket::requestUrl() const
{
    const ConnectionInfo &info = d_func()->channel->info;
    QByteArray host = info.field(ConnectionInfo::Host);
    if (host.isEmpty())
        host = info.local.toHostAddress().toString().toLatin1();
    return QUrl::fromEncoded((info.secure ? "wss://" : "ws://") + host + info.field(ConnectionInfo::Target));
}

/*! Returns the handshake request: requestUrl() with every request header. */
QNetworkRequest WebSocket::request() const
{
    QNetworkRequest request(requestUrl());
    for (const auto &header : requestHeaders())
        request.setRawHeader(header.first, header.second);
    return request;
}

/*! Returns the handshake's headers, in arrival order, names as sent. */
QList<QPair<QByteArray, QByteArray>> WebSocket::requestHeaders() const
{
    QList<QPair<QByteArray, QByteArray>> headers;
    d_func()->channel->info.request.forEachHeader([&headers](QByteArrayView name, QByteArrayView value) {
        headers.append({name.toByteArray(), value.toByteArray()});
        return true;
    });
    return headers;
}

/*! Returns the path of the request ("/chat" for ws://host/chat?room=1). */
QString WebSocket::resourceName() const
{
    return requestUrl().path();
}

/*! Returns the negotiated subprotocol, empty when none. */
QString WebSocket::subprotocol() const
{
    return QString::fromUtf8(d_func()->channel->info.field(ConnectionInfo::Subprotocol));
}

/*! Returns \c true when permessage-deflate was negotiated. */
bool WebSocket::isCompressed() const
{
    return d_func()->channel->info.compressed;
}

/*! Returns the protocol version: Version13. */
WebSocketProtocol::Version WebSocket::version() const
{
    return WebSocketProtocol::Version13;
}

/*! Returns Connected, Closing or Unconnected, as the signals delivered so far showed it. */
QAbstractSocket::SocketState WebSocket::state() const
{
    return d_func()->state;
}

/*!
    Returns the close code: the one the peer sent or we sent, 1006 (AbnormalDisconnection) when TCP
    dropped without a closing handshake; CloseCodeNormal before any close.
*/
WebSocketProtocol::CloseCode WebSocket::closeCode() const
{
    return WebSocketProtocol::CloseCode(d_func()->closeCode);
}

/*! Returns the reason that came with closeCode(). */
QString WebSocket::closeReason() const
{
    return d_func()->closeReason();
}

/*!
    Queues \a message as one text frame. Returns its size in UTF-8 bytes, or -1 when the socket is
    not open or the outbound queue is full (see WebSocketServer::setMaxOutboundQueue()).
*/
qint64 WebSocket::sendTextMessage(const QString &message)
{
    Q_D(WebSocket);
    if (d->sendsInline(message.size())) {
        const std::u16string_view units(reinterpret_cast<const char16_t *>(message.utf16()),
                                        std::size_t(message.size()));
        return d->sendInline(protocol::Opcode::Text, protocol::utf8Size(units),
                             [units](char *out) { protocol::writeUtf8(units, out); });
    }
    return d->send(OutCommand::Kind::Text, message.toUtf8());
}

/*! Queues \a data as one binary frame; returns its size or -1 (see sendTextMessage()). */
qint64 WebSocket::sendBinaryMessage(const QByteArray &data)
{
    Q_D(WebSocket);
    if (d->sendsInline(data.size())) {
        return d->sendInline(protocol::Opcode::Binary, std::size_t(data.size()), [&data](char *out) {
            std::memcpy(out, data.constData(), std::size_t(data.size()));
        });
    }
    return d->send(OutCommand::Kind::Binary, data);
}

/*!
    Sends a ping with \a payload (at most 125 bytes). pong() reports the round trip, measured from
    this call, when the answer arrives.
*/
void WebSocket::ping(const QByteArray &payload)
{
    Q_D(WebSocket);
    if (d->state != QAbstractSocket::ConnectedState)
        return;
    OutCommand command;
    command.kind = OutCommand::Kind::Ping;
    command.data = payload.left(125);
    command.stampUs = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now().time_since_epoch()).count();
    d->channel->submit(std::move(command));
}

/*!
    Starts the closing handshake with \a closeCode and \a reason (at most 123 bytes of UTF-8). Emits
    aboutToClose() and stateChanged(ClosingState); disconnected() follows when the peer answered
    (or after 5 s). A code that may not be sent (1005, 1006, 1015, unassigned) drops TCP instead.
*/
void WebSocket::close(WebSocketProtocol::CloseCode closeCode, const QString &reason)
{
    Q_D(WebSocket);
    if (d->state != QAbstractSocket::ConnectedState)
        return;
    d->closeCode = closeCode;
    d->setCloseReason(reason);
    OutCommand command;
    command.kind = OutCommand::Kind::Close;
    command.code = quint16(closeCode);
    command.data = reason.toUtf8();
    d->channel->submit(std::move(command));
    d->beginClosing();
}

/*! Returns the bytes queued by send…() that the network has not taken yet. */
qint64 WebSocket::bytesToWrite() const
{
    return d_func()->channel->counters.outboundQueued.load(std::memory_order_relaxed);
}

/*!
    Stops reading from the peer: once the kernel's buffers fill, TCP slows the peer down. Messages
    already received are still delivered.
*/
void WebSocket::pauseReading()
{
    d_func()->channel->setUserPaused(true);
}

/*! Reads from the peer again after pauseReading(). */
void WebSocket::resumeReading()
{
    d_func()->channel->setUserPaused(false);
}

/*! Returns \c true between pauseReading() and resumeReading(). */
bool WebSocket::isReadingPaused() const
{
    return d_func()->channel->userPaused.load(std::memory_order_relaxed);
}

/*! Returns a snapshot of the connection's counters; cheap, callable from any thread. */
ConnectionStats WebSocket::stats() const
{
    return d_func()->channel->counters.snapshot();
}

/*! \reimp */
bool WebSocket::event(QEvent *event)
{
    tsanAcquire(event);
    if (event->type() == Channel::batchEventType()) {
        d_func()->processBatch();
        return true;
    }
    if (event->type() == QEvent::ThreadChange) {   // moving away from the server's thread
        d_func()->channel->leaveRound();
        d_func()->server = nullptr;   // the server-level signals are for sockets on its thread
    }
    return QObject::event(event);
}

/*!
    \reimp Records which signals are watched: bytes-written events are made, and the frame and message
    signals emitted, only for a socket with a connection to them (an unconnected emission still costs
    Qt's bookkeeping, ~70 instructions per message each).
*/
void WebSocket::connectNotify(const QMetaMethod &signal)
{
    static const std::pair<QMetaMethod, Channel::Watched> watchable[] = {
        {QMetaMethod::fromSignal(&WebSocket::bytesWritten), Channel::WatchBytesWritten},
        {QMetaMethod::fromSignal(&WebSocket::textFrameReceived), Channel::WatchTextFrame},
        {QMetaMethod::fromSignal(&WebSocket::textMessageReceived), Channel::WatchTextMessage},
        {QMetaMethod::fromSignal(&WebSocket::binaryFrameReceived), Channel::WatchBinaryFrame},
        {QMetaMethod::fromSignal(&WebSocket::binaryMessageReceived), Channel::WatchBinaryMessage},
    };
    for (const auto &[method, bit] : watchable) {
        if (signal == method)
            d_func()->channel->watched.fetch_or(bit, std::memory_order_relaxed);
    }
    QObject::connectNotify(signal);
}

} // namespace qws
