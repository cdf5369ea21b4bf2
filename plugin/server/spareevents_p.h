// SPDX-License-Identifier: BSD-3-Clause
// SpareEvents: an engine thread's delivered event vectors, kept so that later messages are written into
// their strings' storage (Worker::nextEvent()) instead of allocating new ones. Bounded in number and in
// the bytes they hold; what does not fit is left to the caller to free.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "eventbatch_p.h"

#include <QtCore/QChar>

#include <cstddef>
#include <utility>
#include <vector>

namespace qws {

class SpareEvents
{
public:
    /// A round gives back one vector per connection that had something to say (the 64-byte echo:
    /// ~100 a round): 32 covered a third of them, 128 most (64 B echo +1–3 % per server CPU-s).
    static constexpr std::size_t kMaxVectors = 128;
    /// The storage (vectors and strings) kept at most, per engine thread.
    static constexpr std::size_t kMaxBytes = 1024 * 1024;

    /// The heap storage `events` holds: the vector's and its strings'.
    static std::size_t storageOf(const std::vector<InEvent> &events)
    {
        std::size_t bytes = events.capacity() * sizeof(InEvent);
        for (const InEvent &event : events)
            bytes += std::size_t(event.text.capacity()) * sizeof(QChar) + std::size_t(event.data.capacity());
        return bytes;
    }

    /// Keeps `events` (moved from) when both bounds allow; false leaves it to the caller.
    bool give(std::vector<InEvent> &events)
    {
        const std::size_t bytes = storageOf(events);
        if (m_kept.size() >= kMaxVectors || m_bytes + bytes > kMaxBytes)
            return false;
        m_bytes += bytes;
        m_kept.push_back({std::move(events), bytes});
        events = {};
        return true;
    }

    /// The vector kept last, elements and their strings' storage included; an empty vector without
    /// capacity when none is kept.
    std::vector<InEvent> take()
    {
        if (m_kept.empty())
            return {};
        Kept last = std::move(m_kept.back());
        m_kept.pop_back();
        m_bytes -= last.bytes;
        return std::move(last.events);
    }

    std::size_t size() const { return m_kept.size(); }
    std::size_t bytes() const { return m_bytes; }

private:
    struct Kept {
        std::vector<InEvent> events;
        std::size_t bytes = 0;   // storageOf(events) when kept: the vector is not touched meanwhile
    };
    std::vector<Kept> m_kept;
    std::size_t m_bytes = 0;
};

} // namespace qws
