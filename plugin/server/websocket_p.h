// SPDX-License-Identifier: BSD-3-Clause
// WebSocketPrivate: the owner-thread side of one connection (state as its signals showed it).
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "eventbatch_p.h"
#include "websocket.h"
#include "websocketserver.h"

#include <protocol/frame.h>

#include <QtCore/QPointer>

#include <array>
#include <cstddef>
#include <memory>

namespace qws {

class WebSocketPrivate
{
    Q_DECLARE_PUBLIC(WebSocket)
public:
    explicit WebSocketPrivate(std::shared_ptr<Channel> channel);

    /// Makes the WebSocket of a connection the engine just opened (server's thread).
    static WebSocket *create(std::shared_ptr<Channel> channel, WebSocketServer *server);
    /// nextPendingConnection(): from now on, events are delivered to the socket.
    static void claim(WebSocket *socket);

    void processBatch();
    /// processBatch() of the WebSocket `target` (the server's round event, on the socket's thread).
    static void deliverBatch(QObject *target);
    /// Emits the signals of one event (processBatch()); the object may be gone when it returns.
    /// `guard` watches q (one QPointer per batch, not one per message).
    void deliver(const InEvent &event, const QPointer<WebSocket> &guard);
    void setState(QAbstractSocket::SocketState newState);
    void beginClosing();
    void finish(const InEvent &event);
    /// The outbound-queue policy for a message of `size` bytes (WebSocketServer::setMaxOutboundQueue()):
    /// true when it may be queued; false when the socket is not open or the queue is full (then
    /// outboundQueueFull() was emitted and, with CloseConnection, the close begun).
    bool admit(qint64 size);
    /// Hands a whole message to the engine, which frames (and maybe compresses) it.
    qint64 send(OutCommand::Kind kind, QByteArray data);
    /// True when a message of `size` payload bytes (text: UTF-16 code units) is framed here, in
    /// place (sendInline()): small, on a connection without compression.
    bool sendsInline(qsizetype size) const;
    /// Builds the frame of a `size`-byte message straight into the channel's outbound buffer;
    /// `fill(char *)` writes the payload. Returns `size`, or -1 as send().
    template <typename Fill>
    qint64 sendInline(protocol::Opcode opcode, std::size_t size, Fill &&fill)
    {
        if (!admit(qint64(size)))
            return -1;
        std::array<std::byte, protocol::kMaxFrameHeaderSize> header;
        const std::size_t headerSize = protocol::writeFrameHeader(header, opcode, true, false, size);
        if (!channel->submitFrame(reinterpret_cast<const char *>(header.data()), headerSize, size, fill))
            return -1;
        return qint64(size);
    }

    QString errorString() const { return texts ? texts->errorString : QString(); }
    QString closeReason() const { return texts ? texts->closeReason : QString(); }
    // An empty text on a socket without texts stays without them (most closes carry no reason).
    void setErrorString(const QString &text)
    {
        if (texts || !text.isEmpty())
            ensureTexts().errorString = text;
    }
    void setCloseReason(const QString &text)
    {
        if (texts || !text.isEmpty())
            ensureTexts().closeReason = text;
    }

    WebSocket *q_ptr = nullptr;
    std::shared_ptr<Channel> channel;
    /// Emits the server-level message signals; cleared when the socket leaves the server's thread (a
    /// QPointer: 16 bytes, no allocation per socket, they share the server's guard).
    QPointer<WebSocketServer> server;

private:
    // Set only when a connection fails or closes: an open one does not carry two empty QStrings.
    struct Texts {
        QString errorString;
        QString closeReason;
    };
    Texts &ensureTexts()
    {
        if (!texts)
            texts = std::make_unique<Texts>();
        return *texts;
    }
    std::unique_ptr<Texts> texts;

public:
    // The small members last and narrow (WebSocket::error()/closeCode() cast back): the object is 56
    // bytes with the server's QPointer, a 64-byte malloc chunk, not 80. Every SocketError fits 8 bits; a
    // close code is 16 bits on the wire (OutCommand::code, the core's closeCode()).
    QAbstractSocket::SocketState state = QAbstractSocket::ConnectedState;
    qint8 error = qint8(QAbstractSocket::UnknownSocketError);
    bool outboundFullSignalled = false;
    quint16 closeCode = WebSocketProtocol::CloseCodeNormal;
};

} // namespace qws
