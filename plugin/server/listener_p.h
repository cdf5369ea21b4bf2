// SPDX-License-Identifier: BSD-3-Clause
// The listening socket: bind/listen (or adopt a descriptor), address queries, specific error texts.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <QtCore/QString>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>

namespace qws {

/// Owns a non-blocking listening socket. Accepting happens on the workers (accept4), which poll
/// fd(); the owner thread only opens, queries and closes it. The listener never uses a proxy.
class Listener
{
public:
    Listener() = default;
    ~Listener();
    Listener(const Listener &) = delete;
    Listener &operator=(const Listener &) = delete;

    /// Binds with SO_REUSEADDR and listens. QHostAddress::Any is dual-stack (IPv6 socket with
    /// IPV6_V6ONLY off, IPv4 if the host has no IPv6), AnyIPv6 is IPv6 only, AnyIPv4 IPv4 only.
    /// On failure returns false with error()/errorString() set ("address already in use", …).
    bool listen(const QHostAddress &address, quint16 port, int backlog = 1024);
    /// Adopts a socket that is already listening (made non-blocking here). The Listener owns it.
    bool adopt(qintptr descriptor);
    void close();

    bool isListening() const { return m_fd >= 0; }
    int fd() const { return m_fd; }
    QHostAddress address() const;
    quint16 port() const;

    QAbstractSocket::SocketError error() const { return m_error; }
    QString errorString() const { return m_errorString; }

private:
    bool fail(QAbstractSocket::SocketError error, const QString &text);

    int m_fd = -1;
    bool m_any = false;          // listen(Any): report QHostAddress::Any like QTcpServer does
    QAbstractSocket::SocketError m_error = QAbstractSocket::UnknownSocketError;
    QString m_errorString;
};

} // namespace qws
