// SPDX-License-Identifier: BSD-3-Clause
// The engine's defaults, named once (docs/security.md lists them); every settings struct starts from these.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <chrono>
#include <cstddef>

#include <protocol/message.h>

#include <QtCore/qglobal.h>

namespace qws::defaults {

inline constexpr int kMaxPendingConnections = 30;                 ///< as QWebSocketServer
inline constexpr qint64 kHandshakeTimeoutMs = 10000;              ///< as QWebSocketServer
inline constexpr qint64 kMaxInboundQueue = qint64(4) * 1024 * 1024;   ///< then reading pauses
/// Owner thread: how long one pass of its event loop delivers messages before the rest of the
/// batches waits behind paint and timer events (WebSocketPrivate::processBatch()).
inline constexpr std::chrono::microseconds kOwnerSliceBudget{4000};
/// Events taken from a channel between two looks at the clock.
inline constexpr std::size_t kOwnerSliceEvents = 16;
inline constexpr qint64 kMaxOutboundQueue = qint64(16) * 1024 * 1024; ///< then OutboundPolicy applies
/// send…() of an uncompressed message up to this many payload bytes (text: UTF-16 code units) builds
/// its frame on the owner's thread, into the buffer the engine writes from (Channel::submitFrame()):
/// one copy of a small payload costs less than an allocation, a command and an iovec of its own.
/// Larger messages are handed over as they are (binary: shared, never copied).
inline constexpr qsizetype kInlineFrameMax = 4096;
/// The first buffer that small frames are copied into (the owner's Channel::submitFrame(), the
/// engine handler's OutQueue::appendFrameCopy()). 32 bytes short of 1 KiB so that with QByteArray's
/// header and terminator the block stays within glibc's per-thread cache (requests up to 1,032
/// bytes): freed after the write, it is taken again by the next round in a few instructions instead
/// of malloc's bins (~350 per buffer, callgrind).
inline constexpr qsizetype kFrameBufferFirst = 1024 - 32;
/// Message and frame limits: the protocol core's own defaults.
inline constexpr qint64 kMaxMessageSize = qint64(protocol::MessageLimits{}.maxMessageSize);
inline constexpr qint64 kMaxFrameSize = qint64(protocol::MessageLimits{}.maxFrameSize);

} // namespace qws::defaults
