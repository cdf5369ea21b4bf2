// SPDX-License-Identifier: BSD-3-Clause
// OutQueue: the gather list behind writev() (header and payload of a frame go out in one call).
#include "outqueue_p.h"

#include "defaults_p.h"

#include <algorithm>
#include <cstring>

namespace qws {

void OutQueue::appendFrame(const char *header, std::size_t headerSize, QByteArray payload, bool accounted)
{
    Chunk &chunk = m_chunks.emplace_back();
    std::memcpy(chunk.header.data(), header, headerSize);
    chunk.headerSize = static_cast<unsigned char>(headerSize);
    chunk.accounted = accounted;
    chunk.payload = std::move(payload);
    m_bytes += chunk.size();
}

void OutQueue::appendFrames(QByteArray frames, bool accounted)
{
    if (frames.isEmpty())
        return;
    Chunk &chunk = m_chunks.emplace_back();
    chunk.accounted = accounted;
    chunk.payload = std::move(frames);
    m_bytes += chunk.size();
}

OutQueue::Chunk *OutQueue::openTail(bool accounted, std::size_t more, std::size_t limit)
{
    if (isEmpty())
        return nullptr;
    Chunk &last = m_chunks.back();
    if (last.headerSize == 0 && last.payload.isEmpty() && last.accounted == accounted && last.offset == 0
        && last.bytes.size() + more <= limit)
        return &last;
    return nullptr;
}

void OutQueue::appendBytes(std::string bytes, bool accounted)
{
    if (bytes.empty())
        return;
    // Small core output (pongs, close frames) after another small piece: merge to save an iovec.
    if (Chunk *last = openTail(accounted, bytes.size(), 4096)) {
        m_bytes += bytes.size();
        last->bytes += bytes;
        return;
    }
    Chunk &chunk = m_chunks.emplace_back();
    chunk.accounted = accounted;
    chunk.bytes = std::move(bytes);
    m_bytes += chunk.size();
}

void OutQueue::appendFrameCopy(const char *header, std::size_t headerSize, const char *payload, std::size_t size,
                               bool accounted)
{
    // A buffer allocated once, uninitialised, and filled frame after frame; only this queue holds it.
    // A frame that does not fit starts the next buffer, twice the size of a full one before it (1 KiB
    // first, as the owner's Channel::submitFrame(), up to 16 KiB; or the frame's size): a round's few
    // replies take one small allocation, and a peer whose replies each start a buffer (one message per
    // read, a pong between them) holds at most 1 KiB per reply beyond its outbound limit.
    constexpr std::size_t kTailFirst = std::size_t(defaults::kFrameBufferFirst);
    constexpr std::size_t kTailMax = 16 * 1024;
    const std::size_t total = headerSize + size;
    Chunk *tail = isEmpty() ? nullptr : &m_chunks.back();
    if (!tail || !tail->tail || tail->accounted != accounted || tail->offset != 0
        || tail->fill + total > std::size_t(tail->payload.size())) {
        const std::size_t room = tail && tail->tail && tail->offset == 0
                ? std::min(kTailMax, 2 * std::size_t(tail->payload.size()))
                : kTailFirst;
        tail = &m_chunks.emplace_back();
        tail->accounted = accounted;
        tail->tail = true;
        tail->payload = QByteArray(qsizetype(std::max(total, room)), Qt::Uninitialized);
    }
    char *out = tail->payload.data() + tail->fill;
    if (headerSize == 2)   // the usual small frame's header: two bytes moved inline, not a libc call
        std::memcpy(out, header, 2);
    else
        std::memcpy(out, header, headerSize);
    if (size)
        std::memcpy(out + headerSize, payload, size);
    tail->fill += total;
    m_bytes += total;
}

int OutQueue::gather(struct iovec *iov, int max) const
{
    int n = 0;
    for (std::size_t i = m_head; i < m_chunks.size() && n < max; ++i) {
        const Chunk &chunk = m_chunks[i];
        std::size_t skip = chunk.offset;
        auto add = [&](const char *data, std::size_t size) {
            if (skip >= size) {
                skip -= size;
                return;
            }
            if (n < max) {
                iov[n].iov_base = const_cast<char *>(data + skip);
                iov[n].iov_len = size - skip;
                ++n;
            }
            skip = 0;
        };
        if (chunk.headerSize)
            add(chunk.header.data(), chunk.headerSize);
        if (const std::size_t size = chunk.payloadSize())
            add(chunk.payload.constData(), size);
        if (!chunk.bytes.empty())
            add(chunk.bytes.data(), chunk.bytes.size());
    }
    return n;
}

std::size_t OutQueue::consume(std::size_t count)
{
    std::size_t accounted = 0;
    m_bytes -= std::min(count, m_bytes);
    while (count > 0 && m_head < m_chunks.size()) {
        Chunk &chunk = m_chunks[m_head];
        const std::size_t left = chunk.size() - chunk.offset;
        const std::size_t take = std::min(left, count);
        chunk.offset += take;
        count -= take;
        if (chunk.accounted)
            accounted += take;
        if (chunk.offset == chunk.size()) {
            chunk = Chunk();   // release the payload now
            ++m_head;
        }
    }
    if (m_head == m_chunks.size()) {
        m_chunks.clear();
        m_head = 0;
    } else if (m_head > 64 && m_head * 2 > m_chunks.size()) {
        m_chunks.erase(m_chunks.begin(), m_chunks.begin() + std::ptrdiff_t(m_head));
        m_head = 0;
    }
    return accounted;
}

std::size_t OutQueue::dropUnstarted()
{
    std::size_t dropped = 0;
    std::size_t keep = m_head;
    if (keep < m_chunks.size() && m_chunks[keep].offset > 0)
        ++keep;   // a frame half on the wire must be finished, or the stream is corrupt
    for (std::size_t i = keep; i < m_chunks.size(); ++i) {
        const std::size_t size = m_chunks[i].size();
        m_bytes -= size;
        if (m_chunks[i].accounted)
            dropped += size;
    }
    m_chunks.resize(keep);
    return dropped;
}

void OutQueue::compact()
{
    if (isEmpty()) {
        m_chunks.clear();
        m_head = 0;
        if (m_chunks.capacity() > 4)
            std::vector<Chunk>().swap(m_chunks);
    }
}

} // namespace qws
