// SPDX-License-Identifier: BSD-3-Clause
// Per-connection counters: written by the engine thread, read cheaply (relaxed atomics) from any thread.
#pragma once

#include <QtCore/QDateTime>
#include <QtCore/qglobal.h>

#include <atomic>
#include <cstdint>

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
struct ConnectionCounters {
    std::atomic<quint64> messagesReceived{0};
    std::atomic<quint64> messagesSent{0};
    std::atomic<quint64> bytesReceived{0};
    std::atomic<quint64> bytesSent{0};
    std::atomic<qint64> connectedAtMs{0};
    std::atomic<qint64> roundTripTimeUs{-1};
    std::atomic<qint64> inboundQueued{0};
    std::atomic<qint64> outboundQueued{0};
    std::atomic<quint64> readPauses{0};

    ConnectionStats snapshot() const noexcept
    {
        constexpr auto r = std::memory_order_relaxed;
        return {messagesReceived.load(r), messagesSent.load(r), bytesReceived.load(r),
                bytesSent.load(r), connectedAtMs.load(r), roundTripTimeUs.load(r),
                inboundQueued.load(r), outboundQueued.load(r), readPauses.load(r)};
    }
};

} // namespace qws
