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
    bool finish() const noexcept { return m_state == kAccept; }

    bool failed() const noexcept { return m_state == kError; }
    void reset() noexcept { *this = Utf8Validator(); }

private:
    // A 9-state DFA (see utf8.cpp); each state is stored as its bit offset in the transition rows.
    // kError absorbs: once there, every byte keeps it there.
    static constexpr std::uint8_t kError = 0;
    static constexpr std::uint8_t kAccept = 6;
    std::uint8_t m_state = kAccept;
};

/// One-shot check of a whole buffer.
bool isValidUtf8(std::span<const std::byte> data) noexcept;
bool isValidUtf8(std::string_view data) noexcept;

} // namespace qws::protocol
