// SPDX-License-Identifier: BSD-3-Clause
// ReadBlocks: read blocks shared with the messages adopted from them (see readblocks_p.h).
#include "readblocks_p.h"

#include <cstring>

namespace qws {

namespace {
char *blockData(QByteArray &block)
{
    return block.data_ptr().data();   // no detach: the engine thread writes only into a free block
}
} // namespace

// A block is free when this object holds its only reference. The acquire load pairs with the release
// in the last message's destructor (on any thread), so its reads of the bytes come before our writes.
bool ReadBlocks::isFree(std::size_t index)
{
    QByteArray &block = m_blocks[index];
    if (block.isNull())
        return true;
    return block.data_ptr().d_ptr()->ref_.loadAcquire() == 1;
}

char *ReadBlocks::beginRead(bool &adoptable)
{
    m_ends.clear();
    adoptable = true;
    if (m_current < kBlocks) {
        if (isFree(m_current))
            m_cursor = 0;   // the common case when messages come and go: the same warm bytes again
        if (m_cursor + kReadSize < kBlockSize)   // (< : room for the '\0' after a full read)
            return blockData(m_blocks[m_current]) + m_cursor;
    }
    for (std::size_t i = 0; i < kBlocks; ++i) {
        if (isFree(i)) {
            QByteArray &block = m_blocks[i];
            if (block.isNull())
                block = QByteArray(qsizetype(kBlockSize), Qt::Uninitialized);
            m_current = i;
            m_cursor = 0;
            return blockData(block);
        }
    }
    // Every block is held by messages the application has not released yet.
    m_current = kBlocks;
    adoptable = false;
    if (!m_plain)
        m_plain = std::make_unique<char[]>(kReadSize);
    return m_plain.get();
}

void ReadBlocks::endRead()
{
    for (char *end : m_ends)
        *end = '\0';
    if (!m_ends.empty())   // the next read goes after the last adopted message (and its '\0')
        m_cursor = std::size_t(m_ends.back() + 1 - blockData(m_blocks[m_current]));
    m_ends.clear();
}

std::shared_ptr<protocol::ExternalPayload> ReadBlocks::allocate(std::size_t size)
{
    auto payload = std::make_shared<Payload>();
    payload->data = QByteArray(qsizetype(size), Qt::Uninitialized);
    payload->bytes = {reinterpret_cast<std::byte *>(payload->data.data()), size};
    return payload;
}

std::shared_ptr<protocol::ExternalPayload> ReadBlocks::adopt(std::span<std::byte> bytes)
{
    if (m_current >= kBlocks)
        return nullptr;
    QByteArray &block = m_blocks[m_current];
    char *begin = reinterpret_cast<char *>(bytes.data());
    char *start = blockData(block);
    if (begin < start + m_cursor || begin + bytes.size() > start + m_cursor + kReadSize)
        return nullptr;   // not from this read
    // A QByteArray that shares the block's allocation (one more reference) and sees only the message.
    QByteArray::DataPointer view(block.data_ptr());
    view.setBegin(begin);
    view.size = qsizetype(bytes.size());
    auto payload = std::make_shared<Payload>();
    payload->data = QByteArray(std::move(view));
    payload->bytes = bytes;
    m_ends.push_back(begin + bytes.size());
    return payload;
}

std::size_t ReadBlocks::blockCount() const
{
    std::size_t n = 0;
    for (const QByteArray &block : m_blocks)
        n += block.isNull() ? 0 : 1;
    return n;
}

} // namespace qws
