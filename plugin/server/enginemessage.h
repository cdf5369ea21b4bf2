// SPDX-License-Identifier: BSD-3-Clause
// A message seen on the engine thread that received it: WebSocketServer::setEngineMessageHandler().
#pragma once

#include "quickwebsockets_global.h"

#include <QtCore/QByteArrayView>
#include <QtCore/QString>

#include <functional>

namespace qws {

class Peer;

/// One received data message, handed to the engine message handler on the engine thread that read it.
/// It lives for the handler's call only: copy what must outlive it (payload() views the engine's
/// buffer). Not a QObject and not copyable.
class QWS_EXPORT EngineMessage
{
public:
    EngineMessage(const EngineMessage &) = delete;
    EngineMessage &operator=(const EngineMessage &) = delete;

    /// True for a text message (payload() is valid UTF-8), false for a binary one.
    bool isText() const { return m_text; }
    /// The whole message, decompressed. Valid until the handler returns.
    QByteArrayView payload() const { return m_payload; }
    /// payload() as a QByteArray that may outlive the call: a large binary message the engine read
    /// in place is shared, not copied (keeping it holds its read block, see docs/architecture.md);
    /// anything else is copied.
    QByteArray toByteArray() const { return m_shared ? *m_shared : m_payload.toByteArray(); }
    /// payload() of a text message as a QString (a conversion: the engine keeps text as UTF-8 here).
    QString text() const { return QString::fromUtf8(m_payload); }
    /// WebSocket::id() of the connection: the same number the owner's WebSocket reports.
    quint64 connectionId() const;
    /// Bytes queued to this connection and not yet taken by the kernel (what WebSocket::stats()
    /// reports as outboundQueued), replies of this handler included.
    qint64 outboundQueued() const;

    /// Queues a text message (valid UTF-8) to the connection the message came from, framed on this
    /// thread (compressed when the connection negotiated permessage-deflate) and written with this
    /// read's other replies. Returns false, sending nothing, when the text is not valid UTF-8, the
    /// connection is closing, or the outbound queue is over WebSocketServer::maxOutboundQueue()
    /// (with OutboundPolicy::CloseConnection the connection is then closed with 1008, as for the
    /// owner's sends).
    bool sendText(QByteArrayView utf8);
    /// The same for a binary message. Uncompressed, `data` is shared, not copied, when it is larger
    /// than 4 KiB and owns its bytes (so `sendBinary(message.toByteArray())` echoes a large message
    /// without a copy; a QByteArray::fromRawData() is copied); compressed, it is deflated.
    bool sendBinary(const QByteArray &data);

private:
    friend class Peer;
    EngineMessage(Peer &peer, QByteArrayView payload, const QByteArray *shared, bool text)
        : m_peer(peer), m_payload(payload), m_shared(shared), m_text(text)
    {
    }

    Peer &m_peer;
    QByteArrayView m_payload;
    const QByteArray *m_shared;   ///< the payload's own QByteArray (a message read in place), or null
    bool m_text;
};

/// Called on an engine thread for each complete data message; returns true when it took the message
/// (it is then not delivered to the WebSocket's signals), false to let it go on as usual. Called from
/// every engine thread at once: it must be thread-safe and must not block. See
/// WebSocketServer::setEngineMessageHandler().
using EngineMessageHandler = std::function<bool(EngineMessage &message)>;

} // namespace qws
