// SPDX-License-Identifier: BSD-3-Clause
// Per-connection counters: written by the engine thread, read cheaply (relaxed atomics) from any thread.
#pragma once

#include <QtCore/QDateTime>
#include <QtCore/qglobal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

namespace qws {

/// A consistent-enough copy of one connection's counters.
struct ConnectionStats {
    quint64 messagesReceived = 0;
    quint64 messagesSent = 0;
    quint64 bytesReceived = 0;   ///< payload bytes of messages (after decompression)
    quint64 bytesSent = 0;       ///< payload bytes of messages (before compression)
    qint64 connectedAtMs = 0;    ///< ms since epoch (UTC) when the handshake completed
    qint64 roundTripTimeUs = -1; ///< last ping → pong round trip, -1 until measured
    qint64 inboundQueued = 0;    ///< payload bytes received, not yet delivered to the owner's thread
    qint64 outboundQueued = 0;   ///< bytes accepted by send…(), not yet taken by the kernel
    quint64 readPauses = 0;      ///< times reading stopped because the owner's thread fell behind
};

/// The live counters behind ConnectionStats. Engine threads increment; anyone may snapshot().
/// One per connection: the two rarely large ones are 32 bits (a round trip is clamped to ~35 minutes,
/// read pauses count on past 4 G by wrapping), so the block is 64 bytes, not 72.
struct ConnectionCounters {
    std::atomic<quint64> messagesReceived{0};
    std::atomic<quint64> messagesSent{0};
    std::atomic<quint64> bytesReceived{0};
    std::atomic<quint64> bytesSent{0};
    std::atomic<qint64> connectedAtMs{0};
    std::atomic<qint64> inboundQueued{0};
    std::atomic<qint64> outboundQueued{0};
    std::atomic<qint32> roundTripTimeUs{-1};
    std::atomic<quint32> readPauses{0};

    /// Stores a measured round trip (clamped to what 32 bits of microseconds hold).
    void setRoundTripTimeUs(qint64 us) noexcept
    {
        roundTripTimeUs.store(qint32(std::clamp<qint64>(us, 0, std::numeric_limits<qint32>::max())),
                              std::memory_order_relaxed);
    }

    ConnectionStats snapshot() const noexcept
    {
        constexpr auto r = std::memory_order_relaxed;
        return {messagesReceived.load(r), messagesSent.load(r), bytesReceived.load(r),
                bytesSent.load(r), connectedAtMs.load(r), roundTripTimeUs.load(r),
                inboundQueued.load(r), outboundQueued.load(r), readPauses.load(r)};
    }
};

} // namespace qws
