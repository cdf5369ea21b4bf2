// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.2 frame header parsing (fail-fast, incremental) and minimal-length header writing.
#include "frame.h"

namespace qws::protocol {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsv1 = 0x40;
constexpr std::uint8_t kRsv2 = 0x20;
constexpr std::uint8_t kRsv3 = 0x10;
constexpr std::uint8_t kOpcodeBits = 0x0f;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLength7Bits = 0x7f;
constexpr std::uint8_t kLength16 = 126;   // §5.2: "If 126, the following 2 bytes …"
constexpr std::uint8_t kLength64 = 127;   // §5.2: "If 127, the following 8 bytes …"

constexpr HeaderParse failed(Error e) noexcept { return {ParseStatus::Failed, e}; }
constexpr HeaderParse needMore() noexcept { return {ParseStatus::NeedMore, Error::None}; }

// §5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved.
constexpr bool isKnownOpcode(std::uint8_t op) noexcept
{
    return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Everything byte 0 alone can refuse. Order: RSV2/RSV3 (no extension we support defines them), the
// opcode, then RSV1 (which depends on the opcode), then §5.5 fragmentation of control frames.
constexpr Error checkFirstByte(std::uint8_t b0, const FrameRules &rules) noexcept
{
    if (b0 & (kRsv2 | kRsv3))
        return Error::ReservedBits;                          // §5.2
    const std::uint8_t op = b0 & kOpcodeBits;
    if (!isKnownOpcode(op))
        return Error::UnknownOpcode;                         // §5.2
    const bool control = (op & 0x8) != 0;
    if (b0 & kRsv1) {
        if (!rules.allowRsv1)
            return Error::ReservedBits;                      // §5.2: no extension negotiated RSV1
        if (control)
            return Error::CompressedControlFrame;            // RFC 7692 §6
    }
    if (control && !(b0 & kFin))
        return Error::FragmentedControlFrame;                // §5.5
    return Error::None;
}

// What byte 1 can refuse once byte 0 passed: the mask bit (§5.1), and a control frame announcing an
// extended length (§5.5: control payloads are ≤ 125, so 126/127 is already too long). A 7-bit length
// over maxPayload needs no more bytes either: the common length check below sees it at 2 bytes.
constexpr Error checkSecondByte(std::uint8_t b0, std::uint8_t b1, const FrameRules &rules) noexcept
{
    if (rules.requireMask && !(b1 & kMaskBit))
        return Error::UnmaskedFrame;                         // §5.1
    if ((b0 & 0x8) && (b1 & kLength7Bits) > kMaxControlPayload)
        return Error::ControlFrameTooLong;                   // §5.5
    return Error::None;
}

inline std::uint8_t at(std::span<const std::byte> in, std::size_t i) noexcept
{
    return static_cast<std::uint8_t>(in[i]);
}

} // namespace

HeaderParse parseFrameHeader(std::span<const std::byte> in, const FrameRules &rules, FrameHeader &out) noexcept
{
    if (in.empty())
        return needMore();
    const std::uint8_t b0 = at(in, 0);
    if (const Error e = checkFirstByte(b0, rules); e != Error::None)
        return failed(e);
    if (in.size() < 2)
        return needMore();
    const std::uint8_t b1 = at(in, 1);
    if (const Error e = checkSecondByte(b0, b1, rules); e != Error::None)
        return failed(e);

    const std::uint8_t len7 = b1 & kLength7Bits;
    std::size_t pos = 2;
    std::uint64_t length = len7;
    if (len7 == kLength16) {
        if (in.size() < 4)
            return needMore();
        length = (std::uint64_t{at(in, 2)} << 8) | at(in, 3);
        if (length < kLength16)
            return failed(Error::NonMinimalLength);          // §5.2: "the minimal number of bytes"
        pos = 4;
    } else if (len7 == kLength64) {
        // §5.2: "the most significant bit MUST be 0" — visible in the first length byte already.
        if (in.size() < 3)
            return needMore();
        if (at(in, 2) & 0x80)
            return failed(Error::LengthTooLarge);
        if (in.size() < 10)
            return needMore();
        length = 0;
        for (std::size_t i = 2; i < 10; ++i)
            length = (length << 8) | at(in, i);
        if (length <= 0xffff)
            return failed(Error::NonMinimalLength);
        pos = 10;
    }
    if (length > rules.maxPayload)
        return failed(Error::FrameTooBig);

    const bool masked = (b1 & kMaskBit) != 0;
    if (masked) {
        if (in.size() < pos + 4)
            return needMore();
        for (std::size_t i = 0; i < 4; ++i)
            out.mask[i] = at(in, pos + i);
        pos += 4;
    } else {
        out.mask = {};
    }

    out.fin = (b0 & kFin) != 0;
    out.rsv1 = (b0 & kRsv1) != 0;
    out.rsv2 = false;   // refused above
    out.rsv3 = false;
    out.opcode = static_cast<Opcode>(b0 & kOpcodeBits);
    out.masked = masked;
    out.payloadLength = length;
    out.headerSize = static_cast<std::uint8_t>(pos);
    return {ParseStatus::Complete, Error::None};
}

std::size_t writeFrameHeader(std::span<std::byte, kMaxFrameHeaderSize> out, Opcode opcode, bool fin,
                             bool rsv1, std::uint64_t payloadLength,
                             const std::array<std::uint8_t, 4> *mask) noexcept
{
    const auto put = [&](std::size_t i, std::uint64_t v) { out[i] = static_cast<std::byte>(v & 0xff); };
    put(0, (fin ? kFin : 0) | (rsv1 ? kRsv1 : 0) | (static_cast<std::uint8_t>(opcode) & kOpcodeBits));
    const std::uint8_t maskBit = mask ? kMaskBit : 0;
    std::size_t pos = 2;
    if (payloadLength < kLength16) {
        put(1, maskBit | payloadLength);
    } else if (payloadLength <= 0xffff) {
        put(1, maskBit | kLength16);
        put(2, payloadLength >> 8);
        put(3, payloadLength);
        pos = 4;
    } else {
        // §5.2: the MSB must be 0; a caller never has 2^63 bytes to send, so just clear it.
        const std::uint64_t len = payloadLength & ~(UINT64_C(1) << 63);
        put(1, maskBit | kLength64);
        for (std::size_t i = 0; i < 8; ++i)
            put(2 + i, len >> (56 - 8 * i));
        pos = 10;
    }
    if (mask) {
        for (std::size_t i = 0; i < 4; ++i)
            put(pos + i, (*mask)[i]);
        pos += 4;
    }
    return pos;
}

} // namespace qws::protocol
