// SPDX-License-Identifier: BSD-3-Clause
// UTF-16 ↔ UTF-8 for text frames: outgoing text written straight into the frame, incoming (already
// validated) text written straight into the receiver's UTF-16 string (no intermediate buffers).
#pragma once

#include <cstddef>
#include <string_view>

namespace qws::protocol {

/// The UTF-8 size of `text`. A surrogate pair is one 4-byte code point; an unpaired surrogate is
/// written as one '?' (what QString::toUtf8() writes), so the result is always valid UTF-8 (RFC 6455
/// §5.6: a text frame's payload must be).
std::size_t utf8Size(std::u16string_view text) noexcept;

/// Writes `text` as UTF-8 to `out`, which has room for utf8Size(text) bytes; returns the end of what
/// was written. ASCII runs go 8 code units at a time (SSE2 where available).
char *writeUtf8(std::u16string_view text, char *out) noexcept;

/// The UTF-16 size of `utf8`, which must be valid UTF-8 (Utf8Validator accepted it): one code unit
/// per code point, two for those above U+FFFF.
std::size_t utf16Size(std::string_view utf8) noexcept;

/// Writes valid UTF-8 `utf8` as UTF-16 to `out`, which has room for utf16Size(utf8) code units; returns
/// the end. Nothing is checked again (the core validated the message, RFC 6455 §8.1): invalid input
/// gives unspecified code units, never a write past utf16Size(). ASCII runs go 16 bytes at a time.
char16_t *writeUtf16(std::string_view utf8, char16_t *out) noexcept;

} // namespace qws::protocol
