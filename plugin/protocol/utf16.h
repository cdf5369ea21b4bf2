// SPDX-License-Identifier: BSD-3-Clause
// UTF-16 → UTF-8 for outgoing text frames, written straight into the frame (no intermediate string).
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

} // namespace qws::protocol
