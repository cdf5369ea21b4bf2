// SPDX-License-Identifier: BSD-3-Clause
// qws::ConnectionModel: the live list of a WebSocketServer element's connections, for views.
#pragma once

#include <QtCore/QAbstractListModel>
#include <QtCore/QList>
#include <QtCore/QPauseAnimation>
#include <QtQml/qqmlregistration.h>

#include "qmlwebsocket.h"
#include "stats.h"

namespace qws {

class ConnectionModel : public QAbstractListModel
{
    Q_OBJECT
    QML_NAMED_ELEMENT(ConnectionModel)
    QML_UNCREATABLE("Use WebSocketServer.connections")
    Q_PROPERTY(int count READ count NOTIFY countChanged FINAL)
    Q_PROPERTY(int refreshInterval READ refreshInterval WRITE setRefreshInterval
               NOTIFY refreshIntervalChanged FINAL)

public:
    enum Role {
        SocketRole = Qt::UserRole + 1,
        IdRole,
        PeerAddressRole,
        PeerPortRole,
        OriginRole,
        RequestUrlRole,
        PathRole,
        HeadersRole,
        SubprotocolRole,
        CompressedRole,
        StateRole,
        ConnectedAtRole,
        MessagesReceivedRole,
        MessagesSentRole,
        BytesReceivedRole,
        BytesSentRole,
        RoundTripTimeRole,
        CloseCodeRole,
        CloseReasonRole,
    };
    Q_ENUM(Role)

    /// The fastest refresh of the counter roles: 100 ms, i.e. 10 Hz.
    static constexpr int MinimumRefreshInterval = 100;

    explicit ConnectionModel(QObject *parent = nullptr);
    ~ConnectionModel() override;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

    int count() const { return int(m_rows.size()); }
    int refreshInterval() const { return m_interval; }
    void setRefreshInterval(int ms);

    Q_INVOKABLE qws::QmlWebSocket *get(int row) const;
    Q_INVOKABLE int indexOf(qws::QmlWebSocket *socket) const;

    /// The server element adds a socket when it takes it, and removes it after disconnected().
    void append(QmlWebSocket *socket);
    void remove(QmlWebSocket *socket);
    QList<QmlWebSocket *> sockets() const;

    /// Compares every row's counters with the last refresh; emits dataChanged (counter roles only)
    /// for the rows that moved and tells those sockets. Runs from the timer; public for tests.
    Q_INVOKABLE void refresh();

Q_SIGNALS:
    void countChanged();
    void refreshIntervalChanged();

private:
    struct Row {
        QmlWebSocket *socket = nullptr;
        ConnectionStats seen;
    };
    void updateClock();
    static bool sameCounters(const ConnectionStats &a, const ConnectionStats &b);

    QList<Row> m_rows;
    /// The refresh clock: a pause looping forever, one loop per refresh. An animation rather than a timer,
    /// as QML's Timer is: while anything animates it is advanced by the same ticks, so the rows it changes
    /// join the frame that tick draws instead of asking for a frame of their own between two ticks (which
    /// the software render loop would draw early, leaving a long gap before the next one).
    QPauseAnimation m_clock;
    int m_interval = MinimumRefreshInterval;
};

} // namespace qws
