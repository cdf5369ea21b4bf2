// SPDX-License-Identifier: BSD-3-Clause
// ReadBlocks: where an engine thread's socket reads land, and the storage of large binary messages.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <protocol/message.h>

#include <QtCore/QByteArray>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace qws {

/// One per engine thread; the protocol core's PayloadAllocator (ReceiveScratch::allocator).
///
/// Reads go into QByteArray blocks of kBlockSize bytes. A large binary message (ReceiveScratch::
/// externalMin, one uncompressed frame) that lies whole in a read is unmasked where it lies and handed
/// to the application as a QByteArray sharing the block: its bytes are never copied in user space.
/// The next read goes after the last message adopted from the block (one engine iteration reads many
/// connections before the owner gets their messages), to another block once this one is full, and a
/// block starts over only when no message of it is alive. Reads that adopt nothing leave the block as
/// it was. When every one of the kBlocks blocks is held (the application keeps messages, or the owner
/// is far behind), reads go to a plain buffer and such messages are copied into a QByteArray of their
/// own (allocate()), as are messages that span reads. A message queued to a slow client (an echo or
/// broadcast of it) holds its block just the same. So the memory held beyond the messages themselves
/// is bounded: kBlocks × kBlockSize + kReadSize per engine thread, allocated for the thread's life.
/// Over TLS a read is one record (≤ 16 KiB), so only smaller messages lie whole in one.
class ReadBlocks final : public protocol::PayloadAllocator
{
public:
    struct Payload final : protocol::ExternalPayload {
        QByteArray data;
    };
    static constexpr std::size_t kReadSize = 256 * 1024;    ///< the most one read asks for
    static constexpr std::size_t kBlockSize = 1024 * 1024;
    static constexpr std::size_t kBlocks = 6;

    /// Storage for the next read, of kReadSize bytes. `adoptable` tells whether messages may be
    /// adopted from it (set ReceiveScratch::inputWritable while the core consumes it).
    char *beginRead(bool &adoptable);
    /// The core consumed the read: ends each adopted message with the '\0' a QByteArray promises
    /// (the byte after it is a frame header the core has parsed, or unread space).
    void endRead();

    std::shared_ptr<protocol::ExternalPayload> allocate(std::size_t size) override;
    std::shared_ptr<protocol::ExternalPayload> adopt(std::span<std::byte> bytes) override;

    /// Blocks allocated so far (for tests and statistics).
    std::size_t blockCount() const;

private:
    bool isFree(std::size_t index);

    std::array<QByteArray, kBlocks> m_blocks;
    std::size_t m_current = kBlocks;        // the block being read into; kBlocks: m_plain
    std::size_t m_cursor = 0;               // where in it: after its last adopted message
    std::unique_ptr<char[]> m_plain;        // reads while every block is held
    std::vector<char *> m_ends;             // adopted messages' ends, terminated by endRead()
};

} // namespace qws
