// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocketServer beyond QWebSocketServer: engine threads, compression, limits, timeouts, origins.
#include "websocketserver.h"

#include "websocketserver_p.h"

namespace qws {

/*!
    Sets the number of engine threads to \a count (at least 1; default QThread::idealThreadCount()).
    Takes effect when the engine next starts (listen() after close(), or a new server).
*/
void WebSocketServer::setWorkerThreadCount(int count)
{
    d_func()->workerThreadCount = qMax(1, count);
}

/*! Returns the configured number of engine threads. */
int WebSocketServer::workerThreadCount() const
{
    return d_func()->workerThreadCount;
}

/*! Sets the permessage-deflate (RFC 7692) \a options; on by default. New connections only. */
void WebSocketServer::setCompression(const CompressionOptions &options)
{
    Q_D(WebSocketServer);
    d->compression = options;
    d->rebuildConfig();
}

/*! Returns the permessage-deflate options. */
CompressionOptions WebSocketServer::compression() const
{
    return d_func()->compression;
}

/*! Sets the largest message accepted, after decompression, to \a bytes; larger → close 1009. */
void WebSocketServer::setMaxMessageSize(qint64 bytes)
{
    Q_D(WebSocketServer);
    d->maxMessageSize = bytes;
    d->rebuildConfig();
}

/*! Returns the largest message accepted (default 64 MiB). */
qint64 WebSocketServer::maxMessageSize() const
{
    return d_func()->maxMessageSize;
}

/*! Sets the largest frame accepted to \a bytes; larger → close 1009. */
void WebSocketServer::setMaxFrameSize(qint64 bytes)
{
    Q_D(WebSocketServer);
    d->maxFrameSize = bytes;
    d->rebuildConfig();
}

/*! Returns the largest frame accepted (default 64 MiB). */
qint64 WebSocketServer::maxFrameSize() const
{
    return d_func()->maxFrameSize;
}

/*!
    Sets the origins accepted to \a origins (the Origin header, e.g. "https://example.com",
    compared without case); other handshakes get 403 before originAuthenticationRequired() runs.
    Empty (default): every origin.
*/
void WebSocketServer::setAllowedOrigins(const QStringList &origins)
{
    Q_D(WebSocketServer);
    d->allowedOrigins = origins;
    d->rebuildConfig();
}

/*! Returns the origin allow-list. */
QStringList WebSocketServer::allowedOrigins() const
{
    return d_func()->allowedOrigins;
}

/*! Pings a connection after \a interval without input; 0 (default) disables. */
void WebSocketServer::setKeepAliveInterval(std::chrono::milliseconds interval)
{
    Q_D(WebSocketServer);
    d->keepAliveInterval = interval;
    d->rebuildConfig();
}

/*! Returns the keepalive interval. */
std::chrono::milliseconds WebSocketServer::keepAliveInterval() const
{
    return d_func()->keepAliveInterval;
}

/*! Closes (1001) a connection after \a timeout without input; 0 (default) disables. */
void WebSocketServer::setIdleTimeout(std::chrono::milliseconds timeout)
{
    Q_D(WebSocketServer);
    d->idleTimeout = timeout;
    d->rebuildConfig();
}

/*! Returns the idle timeout. */
std::chrono::milliseconds WebSocketServer::idleTimeout() const
{
    return d_func()->idleTimeout;
}

/*!
    Sets how many received payload bytes of one connection may wait for its owner's thread to
    \a bytes (default 4 MiB). Past it, the engine stops reading that socket until the owner catches
    up, so TCP slows the peer down; nothing is dropped.
*/
void WebSocketServer::setMaxInboundQueue(qint64 bytes)
{
    Q_D(WebSocketServer);
    d->maxInboundQueue = qMax<qint64>(1, bytes);
    d->rebuildConfig();
}

/*! Returns the inbound queue limit. */
qint64 WebSocketServer::maxInboundQueue() const
{
    return d_func()->maxInboundQueue;
}

/*!
    Sets how many bytes sent to one connection may wait for the network to \a bytes (default 16 MiB)
    and what happens past it: \a policy CloseConnection emits WebSocket::outboundQueueFull() and
    closes with 1008 (unsent messages dropped); RejectSends emits it and makes send…() return -1
    until the queue drains. A message larger than the limit is still accepted by an empty queue.
*/
void WebSocketServer::setMaxOutboundQueue(qint64 bytes, OutboundPolicy policy)
{
    Q_D(WebSocketServer);
    d->maxOutboundQueue = qMax<qint64>(1, bytes);
    d->outboundPolicy = policy;
    d->rebuildConfig();
}

/*! Returns the outbound queue limit. */
qint64 WebSocketServer::maxOutboundQueue() const
{
    return d_func()->maxOutboundQueue;
}

/*! Returns what happens when a connection's outbound queue is full. */
OutboundPolicy WebSocketServer::outboundPolicy() const
{
    return d_func()->outboundPolicy;
}

/*!
    Runs \a handler on the engine threads for each complete data message (text or binary, after
    decompression), before anything is handed to the server's thread. When it returns true the
    message is taken: no WebSocket signal reports it, and replies made with
    EngineMessage::sendText() or sendBinary() go out with the same read's other frames, with no
    thread hand-off (the fastest path this engine has; see docs/benchmarks.md). When it returns false
    the message is delivered as usual. Statistics count both kinds.

    The handler is called from every engine thread at once, so it must be thread-safe, and it must
    not block: the thread serves all its connections. It must not touch QObjects of other threads
    either. Messages of one connection reach it in order; a reply and a send…() of the owner's thread
    to the same connection go out in the order the engine takes them.

    Each connection keeps the handler that was set when it was accepted (TCP), for its whole life: a
    call affects connections accepted after it, and an empty \a handler (the default) turns the
    handler off for those only. So whatever the handler uses must outlive the connections accepted
    while it was set, or the server (destroying it stops the engine threads first). The function is
    kept once, not copied per connection; it is destroyed with the last connection (or settings
    snapshot) that holds it, possibly on an engine thread.
*/
void WebSocketServer::setEngineMessageHandler(EngineMessageHandler handler)
{
    Q_D(WebSocketServer);
    d->engineMessageHandler = handler ? std::make_shared<const EngineMessageHandler>(std::move(handler)) : nullptr;
    d->rebuildConfig();
}

/*! Returns whether an engine message handler is set. */
bool WebSocketServer::hasEngineMessageHandler() const
{
    return bool(d_func()->engineMessageHandler);
}

/*! Returns the number of open connections (handshake done, not yet closed), pending ones included. */
int WebSocketServer::connectionCount() const
{
    return d_func()->openCount.load(std::memory_order_relaxed);
}

/*! Returns how many TLS handshakes failed since the server was constructed. Readable from any thread. */
quint64 WebSocketServer::tlsHandshakeFailureCount() const
{
    return d_func()->tlsFailures.load(std::memory_order_relaxed);
}

/*!
    Returns how many handshake failures were not signalled by handshakeFailed() because more than
    kMaxHandshakeFailuresPerBatch were waiting for the server's thread. Readable from any thread.
*/
quint64 WebSocketServer::droppedHandshakeFailureCount() const
{
    return d_func()->droppedHandshakeFailures.load(std::memory_order_relaxed);
}

} // namespace qws
