// SPDX-License-Identifier: BSD-3-Clause
// A connection's unsent bytes: frames as header + shared payload (no copy) or core-made byte strings.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <QtCore/QByteArray>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/uio.h>

namespace qws {

class OutQueue
{
public:
    /// A frame whose payload is the owner's QByteArray (implicitly shared, never copied).
    void appendFrame(const char *header, std::size_t headerSize, QByteArray payload, bool accounted);
    /// Bytes made by the protocol core (handshake response, control or compressed frames).
    void appendBytes(std::string bytes, bool accounted);
    /// A frame whose payload is copied: small frames in a row share a buffer (1 KiB, doubling while
    /// they keep coming, up to 16 KiB), so a burst of replies made on the engine thread is one or a
    /// few allocations and contiguous writes.
    void appendFrameCopy(const char *header, std::size_t headerSize, const char *payload, std::size_t size,
                         bool accounted);
    /// Whole frames built by the owner (OutCommand::Kind::Frames), written as they are.
    void appendFrames(QByteArray frames, bool accounted);

    bool isEmpty() const { return m_head == m_chunks.size(); }
    std::size_t size() const { return m_bytes; }

    /// Fills up to `max` iovecs from the front; returns how many.
    int gather(struct iovec *iov, int max) const;
    /// Drops `count` written bytes from the front; returns how many of them were accounted
    /// (charged to the connection's outbound queue).
    std::size_t consume(std::size_t count);
    /// Drops every chunk not yet started (outbound overflow); returns the accounted bytes dropped.
    std::size_t dropUnstarted();
    /// Frees memory once empty (idle connections keep no buffers).
    void compact();

private:
    struct Chunk {
        std::array<char, 14> header{};
        unsigned char headerSize = 0;
        bool accounted = false;
        bool tail = false;   ///< `payload` is this queue's own buffer of copied frames (appendFrameCopy())
        std::size_t fill = 0;   ///< tail only: the bytes of `payload` in use (the rest is room)
        QByteArray payload;
        std::string bytes;
        std::size_t offset = 0;
        std::size_t payloadSize() const { return tail ? fill : std::size_t(payload.size()); }
        std::size_t size() const { return headerSize + payloadSize() + bytes.size(); }
    };
    /// The last chunk when it holds only bytes not yet started and `more` fit in it up to `limit`.
    Chunk *openTail(bool accounted, std::size_t more, std::size_t limit);

    std::vector<Chunk> m_chunks;
    std::size_t m_head = 0;
    std::size_t m_bytes = 0;
};

} // namespace qws
