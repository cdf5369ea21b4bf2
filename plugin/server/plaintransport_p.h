// SPDX-License-Identifier: BSD-3-Clause
// The plain TCP Transport: read()/writev() on a non-blocking socket.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "transport_p.h"

namespace qws {

/// Owns the socket: the destructor closes it.
class PlainTransport final : public Transport
{
public:
    explicit PlainTransport(int fd) : m_fd(fd) {}
    ~PlainTransport() override;

    Status handshake() override { return Status::Ok; }
    Status read(char *buffer, std::size_t size, std::size_t &count) override;
    Status write(const struct iovec *iov, int iovcnt, std::size_t &count) override;
    void shutdown() override;
    int fd() const override { return m_fd; }
    QString errorString() const override;

    /// The errno of the last failure (ECONNRESET tells "the peer reset" from other errors).
    int lastErrno() const { return m_errno; }

private:
    int m_fd;
    int m_errno = 0;
};

} // namespace qws
