// SPDX-License-Identifier: BSD-3-Clause
// qws::ConnectionModel: rows follow connections live; counters are polled at a bounded rate.
#include "connectionmodel.h"

#include "qmlwebsocket.h"

namespace qws {

/*!
    \qmltype ConnectionModel
    \inqmlmodule QuickWebSockets
    \brief The open connections of a WebSocketServer, as a list model.

    Available as WebSocketServer::connections; not creatable. One row per open WebSocket, in the order
    they connected. A row appears when the server takes a connection (just before
    \c clientConnected) and disappears right after the socket's \c disconnected signal.

    Roles: \c socket (the WebSocket object), and one role per WebSocket property: \c id,
    \c peerAddress, \c peerPort, \c origin, \c requestUrl, \c path, \c headers, \c subprotocol,
    \c compressed, \c state, \c connectedAt, \c messagesReceived, \c messagesSent, \c bytesReceived,
    \c bytesSent, \c roundTripTime, \c closeCode, \c closeReason.

    The counter roles (\c messagesReceived, \c messagesSent, \c bytesReceived, \c bytesSent,
    \c roundTripTime) are never updated per message: a timer compares every row's counters at most
    ten times per second (\l refreshInterval) and emits \c dataChanged, for those roles only, for
    the rows whose counters moved. The timer runs only while there are rows. Like QML's Timer, it is
    synchronized with the animation timer: while the window animates, a refresh happens on an
    animation tick, so the rows it changes are drawn in that tick's frame rather than in an extra
    frame of their own between two ticks.
*/

ConnectionModel::ConnectionModel(QObject *parent) : QAbstractListModel(parent)
{
    m_clock.setDuration(m_interval);
    m_clock.setLoopCount(-1);
    connect(&m_clock, &QAbstractAnimation::currentLoopChanged, this, &ConnectionModel::refresh);
}

ConnectionModel::~ConnectionModel() = default;

/*!
    \qmlproperty int ConnectionModel::count
    The number of rows (open connections).
*/
/*!
    \qmlproperty int ConnectionModel::refreshInterval
    Milliseconds between two counter refreshes; default and minimum 100 (10 Hz). Smaller values are
    raised to 100.
*/
void ConnectionModel::setRefreshInterval(int ms)
{
    ms = qMax(ms, int(MinimumRefreshInterval));
    if (ms == m_interval)
        return;
    m_interval = ms;
    const bool running = m_clock.state() == QAbstractAnimation::Running;
    m_clock.stop();   // a running animation's duration cannot change
    m_clock.setDuration(m_interval);
    if (running)
        m_clock.start();
    Q_EMIT refreshIntervalChanged();
}

int ConnectionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ConnectionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QmlWebSocket *s = m_rows.at(index.row()).socket;
    switch (Role(role)) {
    case SocketRole: return QVariant::fromValue(const_cast<QmlWebSocket *>(s));
    case IdRole: return s->id();
    case PeerAddressRole: return s->peerAddress();
    case PeerPortRole: return s->peerPort();
    case OriginRole: return s->origin();
    case RequestUrlRole: return s->requestUrl();
    case PathRole: return s->path();
    case HeadersRole: return s->headers();
    case SubprotocolRole: return s->subprotocol();
    case CompressedRole: return s->compressed();
    case StateRole: return int(s->state());
    case ConnectedAtRole: return s->connectedAt();
    // Counter roles report what the last refresh saw, so a view and its dataChanged agree.
    case MessagesReceivedRole: return double(m_rows.at(index.row()).seen.messagesReceived);
    case MessagesSentRole: return double(m_rows.at(index.row()).seen.messagesSent);
    case BytesReceivedRole: return double(m_rows.at(index.row()).seen.bytesReceived);
    case BytesSentRole: return double(m_rows.at(index.row()).seen.bytesSent);
    case RoundTripTimeRole: {
        const qint64 us = m_rows.at(index.row()).seen.roundTripTimeUs;
        return us < 0 ? -1.0 : double(us) / 1000.0;
    }
    case CloseCodeRole: return s->closeCode();
    case CloseReasonRole: return s->closeReason();
    }
    return {};
}

QHash<int, QByteArray> ConnectionModel::roleNames() const
{
    return {
        {SocketRole, "socket"},
        {IdRole, "id"},
        {PeerAddressRole, "peerAddress"},
        {PeerPortRole, "peerPort"},
        {OriginRole, "origin"},
        {RequestUrlRole, "requestUrl"},
        {PathRole, "path"},
        {HeadersRole, "headers"},
        {SubprotocolRole, "subprotocol"},
        {CompressedRole, "compressed"},
        {StateRole, "state"},
        {ConnectedAtRole, "connectedAt"},
        {MessagesReceivedRole, "messagesReceived"},
        {MessagesSentRole, "messagesSent"},
        {BytesReceivedRole, "bytesReceived"},
        {BytesSentRole, "bytesSent"},
        {RoundTripTimeRole, "roundTripTime"},
        {CloseCodeRole, "closeCode"},
        {CloseReasonRole, "closeReason"},
    };
}

/*!
    \qmlmethod WebSocket ConnectionModel::get(int row)
    The WebSocket of \a row, or null when out of range.
*/
QmlWebSocket *ConnectionModel::get(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).socket : nullptr;
}

/*!
    \qmlmethod int ConnectionModel::indexOf(WebSocket socket)
    The row of \a socket, or -1.
*/
int ConnectionModel::indexOf(QmlWebSocket *socket) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).socket == socket)
            return i;
    }
    return -1;
}

void ConnectionModel::append(QmlWebSocket *socket)
{
    if (!socket || indexOf(socket) >= 0)
        return;
    const int row = int(m_rows.size());
    beginInsertRows({}, row, row);
    m_rows.append({socket, socket->stats()});
    endInsertRows();
    connect(socket, &QmlWebSocket::stateChanged, this, [this, socket] {
        const int r = indexOf(socket);
        if (r >= 0)
            Q_EMIT dataChanged(index(r), index(r), {StateRole});
    });
    connect(socket, &QmlWebSocket::closed, this, [this, socket] {
        const int r = indexOf(socket);
        if (r >= 0)
            Q_EMIT dataChanged(index(r), index(r), {CloseCodeRole, CloseReasonRole});
    });
    Q_EMIT countChanged();
    updateClock();
}

void ConnectionModel::remove(QmlWebSocket *socket)
{
    const int row = indexOf(socket);
    if (row < 0)
        return;
    socket->disconnect(this);
    beginRemoveRows({}, row, row);
    m_rows.removeAt(row);
    endRemoveRows();
    Q_EMIT countChanged();
    updateClock();
}

QList<QmlWebSocket *> ConnectionModel::sockets() const
{
    QList<QmlWebSocket *> list;
    list.reserve(m_rows.size());
    for (const Row &r : m_rows)
        list.append(r.socket);
    return list;
}

bool ConnectionModel::sameCounters(const ConnectionStats &a, const ConnectionStats &b)
{
    return a.messagesReceived == b.messagesReceived && a.messagesSent == b.messagesSent
            && a.bytesReceived == b.bytesReceived && a.bytesSent == b.bytesSent
            && a.roundTripTimeUs == b.roundTripTimeUs;
}

/*!
    \qmlmethod void ConnectionModel::refresh()
    Refreshes the counter roles now (the timer does this every \l refreshInterval ms).
*/
void ConnectionModel::refresh()
{
    static const QList<int> counterRoles = {MessagesReceivedRole, MessagesSentRole,
                                            BytesReceivedRole, BytesSentRole, RoundTripTimeRole};
    int first = -1;
    QList<QmlWebSocket *> moved;
    const auto flush = [&](int last) {
        if (first >= 0)
            Q_EMIT dataChanged(index(first), index(last), counterRoles);
        first = -1;
    };
    for (int i = 0; i < m_rows.size(); ++i) {
        Row &row = m_rows[i];
        const ConnectionStats now = row.socket->stats();
        if (sameCounters(now, row.seen)) {
            flush(i - 1);
            continue;
        }
        row.seen = now;
        moved.append(row.socket);
        if (first < 0)
            first = i;
    }
    flush(int(m_rows.size()) - 1);
    for (QmlWebSocket *s : std::as_const(moved))
        s->notifyCountersChanged();
}

void ConnectionModel::updateClock()
{
    if (m_rows.isEmpty())
        m_clock.stop();
    else if (m_clock.state() != QAbstractAnimation::Running)
        m_clock.start();
}

} // namespace qws
