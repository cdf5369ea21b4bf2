// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.2 frame headers: a parser (client → server) and a writer (server → client).
#pragma once

#include "errors.h"
#include "events.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace qws::protocol {

inline constexpr std::size_t kMaxFrameHeaderSize = 14;   ///< 2 + 8 (length) + 4 (mask)
inline constexpr std::size_t kMaxControlPayload = 125;    ///< RFC 6455 §5.5

struct FrameHeader {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    Opcode opcode = Opcode::Binary;
    bool masked = false;
    std::array<std::uint8_t, 4> mask{};
    std::uint64_t payloadLength = 0;
    std::uint8_t headerSize = 0;  ///< bytes the header occupied on the wire (2–14)
};

/// What a header must obey; set by the connection from the negotiated extensions.
struct FrameRules {
    bool requireMask = true;           ///< §5.1: a server requires masked frames
    bool allowRsv1 = false;            ///< RFC 7692: true when permessage-deflate was negotiated
    std::uint64_t maxPayload = UINT64_C(64) * 1024 * 1024; ///< larger frames → Error::FrameTooBig
};

enum class ParseStatus : std::uint8_t { Complete, NeedMore, Failed };

struct HeaderParse {
    ParseStatus status = ParseStatus::NeedMore;
    Error error = Error::None;   ///< set when status == Failed
};

/// Parses one frame header from the start of `in` (reads at most kMaxFrameHeaderSize bytes).
/// Complete: `out` is filled and out.headerSize bytes belong to the header.
/// NeedMore: `in` holds a prefix of a header; call again with more bytes (nothing is kept here).
/// Failed: `error` names the violated rule (§5.1 mask, §5.2 RSV/opcode/minimal length/2^63, §5.5
/// control length/fragmentation, RFC 7692 §6 RSV1 on control frames, FrameTooBig).
/// Header-local rules only: continuation/sequence rules live in MessageAssembler.
HeaderParse parseFrameHeader(std::span<const std::byte> in, const FrameRules &rules, FrameHeader &out) noexcept;

/// Writes a frame header into `out` and returns its size (2–14). Server frames are unmasked; pass
/// `mask` to write a client (masked) header, as tests and the load generator do. The payload is
/// written separately by the caller (writev), so it is never copied here.
std::size_t writeFrameHeader(std::span<std::byte, kMaxFrameHeaderSize> out, Opcode opcode, bool fin,
                             bool rsv1, std::uint64_t payloadLength,
                             const std::array<std::uint8_t, 4> *mask = nullptr) noexcept;

} // namespace qws::protocol
