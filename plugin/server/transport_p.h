// SPDX-License-Identifier: BSD-3-Clause
// The narrow seam between a worker and the byte stream under a connection: plain TCP or TLS.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <QtCore/QString>

#include <cstddef>
#include <sys/types.h>
#include <sys/uio.h>

namespace qws {

/// One non-blocking stream over a connected socket fd, driven by a worker's epoll loop. Every call
/// returns at once. A worker only ever talks to its connections through this interface, so TCP, TLS
/// or a test double plug in (model: Qt HTTP Server's QHttpServerStream, Beast's stream<NextLayer>).
class Transport
{
public:
    enum class Status {
        Ok,          ///< progress made (read/write: the returned count is > 0)
        WantRead,    ///< call again when the fd is readable
        WantWrite,   ///< call again when the fd is writable
        Closed,      ///< orderly end of stream (TCP FIN / TLS close_notify)
        Failed,      ///< error; errorString() says what
    };

    virtual ~Transport() = default;

    /// Drives the transport's own handshake (TLS); plain TCP returns Ok at once.
    virtual Status handshake() = 0;
    /// Reads up to `size` bytes into `buffer`; `count` receives the number read.
    virtual Status read(char *buffer, std::size_t size, std::size_t &count) = 0;
    /// Writes from `iov` (gathered); `count` receives the bytes taken (may be partial).
    virtual Status write(const struct iovec *iov, int iovcnt, std::size_t &count) = 0;
    /// Starts an orderly shutdown of the sending side (TLS close_notify, then shutdown(SHUT_WR)).
    virtual void shutdown() = 0;
    /// True when bytes are already buffered inside the transport (TLS records decrypted but unread),
    /// so the worker must read again without waiting for the fd.
    virtual bool hasBufferedInput() const { return false; }

    virtual int fd() const = 0;
    virtual bool isEncrypted() const { return false; }
    virtual QString errorString() const = 0;
    /// After Failed: true when the peer closed or reset the connection (not bad data), so a failed
    /// handshake is reported as ConnectionLost rather than as a TLS error.
    virtual bool failedByPeer() const { return false; }
};

} // namespace qws
