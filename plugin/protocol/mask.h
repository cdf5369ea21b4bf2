// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.3 masking: XOR with a 4-byte key, a machine word (or more) at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace qws::protocol {

/// XORs `data` in place with `key`, starting at key byte `phase` (0–3), so a payload may be unmasked
/// in pieces as it arrives. Returns the phase for the next piece: (phase + data.size()) % 4.
std::size_t applyMask(std::span<std::byte> data, const std::array<std::uint8_t, 4> &key,
                      std::size_t phase = 0) noexcept;

/// Same, copying: dst[i] = src[i] ^ key[(phase + i) % 4]. dst and src may be equal, not overlap otherwise.
std::size_t applyMaskCopy(std::byte *dst, const std::byte *src, std::size_t size,
                          const std::array<std::uint8_t, 4> &key, std::size_t phase = 0) noexcept;

/// applyMask() from phase 0, telling in the same pass whether every unmasked byte is ASCII (below
/// 0x80): a short text message (the usual one) then needs no UTF-8 pass of its own.
bool applyMaskAscii(std::span<std::byte> data, const std::array<std::uint8_t, 4> &key) noexcept;

} // namespace qws::protocol
