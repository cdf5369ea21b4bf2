// SPDX-License-Identifier: BSD-3-Clause
// Listener: the listening socket, made with the BSD socket calls so the engine threads can own it.
#include "listener_p.h"

#include "logging_p.h"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace qws {

Listener::~Listener()
{
    close();
}

void Listener::close()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
    m_any = false;
}

bool Listener::fail(QAbstractSocket::SocketError error, const QString &text)
{
    m_error = error;
    m_errorString = text;
    close();
    return false;
}

bool Listener::listen(const QHostAddress &address, quint16 port, int backlog)
{
    close();
    m_error = QAbstractSocket::UnknownSocketError;
    m_errorString.clear();

    sockaddr_storage storage{};
    socklen_t length = 0;
    bool dualStack = false;
    bool v6only = false;
    auto setV4 = [&](quint32 ip) {
        auto *in = reinterpret_cast<sockaddr_in *>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(ip);
        length = sizeof(sockaddr_in);
    };
    auto setV6 = [&](const Q_IPV6ADDR &ip, quint32 scope) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, &ip, 16);
        in6->sin6_scope_id = scope;
        length = sizeof(sockaddr_in6);
    };
    const QString where = QStringLiteral("%1:%2").arg(address.toString()).arg(port);

    if (address == QHostAddress(QHostAddress::Any)) {
        setV6(Q_IPV6ADDR{}, 0);
        dualStack = true;
    } else if (address == QHostAddress(QHostAddress::AnyIPv6)) {
        setV6(Q_IPV6ADDR{}, 0);
        v6only = true;
    } else if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        setV4(address.toIPv4Address());
    } else if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        quint32 scope = 0;
        if (!address.scopeId().isEmpty()) {
            bool numeric = false;
            scope = address.scopeId().toUInt(&numeric);
            if (!numeric)
                scope = ::if_nametoindex(address.scopeId().toLatin1().constData());
        }
        setV6(address.toIPv6Address(), scope);
        v6only = true;
    } else {
        return fail(QAbstractSocket::SocketAddressNotAvailableError,
                    QStringLiteral("cannot listen on %1: not an IPv4 or IPv6 address").arg(where));
    }

    int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && dualStack && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
        setV4(INADDR_ANY);   // no IPv6 on this host: Any means every IPv4 interface
        dualStack = false;
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0)
        return fail(QAbstractSocket::SocketResourceError,
                    QStringLiteral("cannot create a socket for %1: %2")
                            .arg(where, QString::fromLocal8Bit(std::strerror(errno))));
    m_fd = fd;

    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (storage.ss_family == AF_INET6) {
        const int only = v6only ? 1 : 0;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
    }

    if (::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0) {
        const int error = errno;
        switch (error) {
        case EADDRINUSE:
            return fail(QAbstractSocket::AddressInUseError,
                        QStringLiteral("cannot listen on %1: address already in use").arg(where));
        case EACCES:
        case EPERM:
            return fail(QAbstractSocket::SocketAccessError,
                        QStringLiteral("cannot listen on %1: permission denied (ports below 1024 need "
                                       "privileges)").arg(where));
        case EADDRNOTAVAIL:
            return fail(QAbstractSocket::SocketAddressNotAvailableError,
                        QStringLiteral("cannot listen on %1: the address is not available on this host")
                                .arg(where));
        default:
            return fail(QAbstractSocket::UnknownSocketError,
                        QStringLiteral("cannot listen on %1: %2")
                                .arg(where, QString::fromLocal8Bit(std::strerror(error))));
        }
    }
    if (::listen(fd, backlog) != 0) {
        const int error = errno;
        return fail(error == EADDRINUSE ? QAbstractSocket::AddressInUseError : QAbstractSocket::UnknownSocketError,
                    QStringLiteral("cannot listen on %1: %2")
                            .arg(where, error == EADDRINUSE ? QStringLiteral("address already in use")
                                                            : QString::fromLocal8Bit(std::strerror(error))));
    }
    m_any = dualStack || address == QHostAddress(QHostAddress::Any);
    qCDebug(lcServer) << "listening on" << this->address() << this->port();
    return true;
}

bool Listener::adopt(qintptr descriptor)
{
    close();
    m_error = QAbstractSocket::UnknownSocketError;
    m_errorString.clear();
    const int fd = int(descriptor);
    int accepting = 0;
    int type = 0;
    socklen_t size = sizeof accepting;
    if (fd < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) != 0) {
        m_error = QAbstractSocket::UnsupportedSocketOperationError;
        m_errorString = QStringLiteral("descriptor %1 is not a socket").arg(descriptor);
        return false;
    }
    size = sizeof type;
    ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size);
    if (!accepting || type != SOCK_STREAM) {
        m_error = QAbstractSocket::UnsupportedSocketOperationError;
        m_errorString = QStringLiteral("descriptor %1 is not a listening TCP socket").arg(descriptor);
        return false;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    m_fd = fd;
    return true;
}

QHostAddress Listener::address() const
{
    if (m_fd < 0)
        return QHostAddress();
    if (m_any)
        return QHostAddress(QHostAddress::Any);
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(m_fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return QHostAddress();
    return QHostAddress(reinterpret_cast<const sockaddr *>(&storage));
}

quint16 Listener::port() const
{
    if (m_fd < 0)
        return 0;
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(m_fd, reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return 0;
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
    return 0;
}

} // namespace qws
