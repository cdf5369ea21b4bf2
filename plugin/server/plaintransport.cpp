// SPDX-License-Identifier: BSD-3-Clause
// PlainTransport: a non-blocking TCP socket behind the Transport seam.
#include "plaintransport_p.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace qws {

PlainTransport::~PlainTransport()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

Transport::Status PlainTransport::read(char *buffer, std::size_t size, std::size_t &count)
{
    count = 0;
    for (;;) {
        const ssize_t n = ::recv(m_fd, buffer, size, 0);
        if (n > 0) {
            count = std::size_t(n);
            return Status::Ok;
        }
        if (n == 0)
            return Status::Closed;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return Status::WantRead;
        m_errno = errno;
        return Status::Failed;
    }
}

Transport::Status PlainTransport::write(const struct iovec *iov, int iovcnt, std::size_t &count)
{
    count = 0;
    msghdr message{};
    message.msg_iov = const_cast<struct iovec *>(iov);
    message.msg_iovlen = std::size_t(iovcnt);
    for (;;) {
        // sendmsg = writev + MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE.
        const ssize_t n = ::sendmsg(m_fd, &message, MSG_NOSIGNAL);
        if (n >= 0) {
            count = std::size_t(n);
            return n > 0 ? Status::Ok : Status::WantWrite;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return Status::WantWrite;
        m_errno = errno;
        return Status::Failed;
    }
}

void PlainTransport::shutdown()
{
    ::shutdown(m_fd, SHUT_WR);
}

QString PlainTransport::errorString() const
{
    return m_errno ? QString::fromLocal8Bit(std::strerror(m_errno)) : QString();
}

} // namespace qws
