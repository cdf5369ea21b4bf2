// SPDX-License-Identifier: BSD-3-Clause
// A streaming UTF-8 validator (RFC 3629; RFC 6455 §8.1), model: Boost.Beast utf8_checker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace qws::protocol {

class Utf8Validator {
public:
    /// Validates the next piece. Returns false at the first byte that cannot start or continue a
    /// valid sequence (overlongs, surrogates, > U+10FFFF, stray continuation bytes), even when the
    /// sequence began in an earlier piece. After false, the validator stays failed until reset().
    bool write(std::span<const std::byte> piece) noexcept;
    bool write(std::string_view piece) noexcept;

    /// True when everything written so far is valid and no code point is left incomplete.
    bool finish() const noexcept { return !m_failed && m_needed == 0; }

    bool failed() const noexcept { return m_failed; }
    void reset() noexcept { *this = Utf8Validator(); }

private:
    std::uint8_t m_needed = 0;   // continuation bytes still expected
    std::uint8_t m_lower = 0x80; // allowed range of the next continuation byte
    std::uint8_t m_upper = 0xBF;
    bool m_failed = false;
};

/// One-shot check of a whole buffer.
bool isValidUtf8(std::span<const std::byte> data) noexcept;
bool isValidUtf8(std::string_view data) noexcept;

} // namespace qws::protocol
