// SPDX-License-Identifier: BSD-3-Clause
// UTF-16 → UTF-8 (RFC 3629 §3), with an 8-units-at-a-time ASCII path.
#include "utf16.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define QWS_UTF16_SSE2 1
#endif

namespace qws::protocol {

namespace {

constexpr bool isHighSurrogate(char16_t c) noexcept { return c >= 0xD800 && c <= 0xDBFF; }
constexpr bool isLowSurrogate(char16_t c) noexcept { return c >= 0xDC00 && c <= 0xDFFF; }

#if defined(QWS_UTF16_SSE2)
/// True when the 8 code units at `p` are all ASCII (below 0x80).
inline bool asciiBlock(const char16_t *p, __m128i &units) noexcept
{
    units = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    const __m128i high = _mm_and_si128(units, _mm_set1_epi16(static_cast<short>(0xFF80)));
    return _mm_movemask_epi8(_mm_cmpeq_epi16(high, _mm_setzero_si128())) == 0xFFFF;
}
#endif

} // namespace

std::size_t utf8Size(std::u16string_view text) noexcept
{
    const char16_t *p = text.data();
    const char16_t *const end = p + text.size();
    std::size_t size = 0;
    while (p < end) {
#if defined(QWS_UTF16_SSE2)
        __m128i units;
        if (end - p >= 8 && asciiBlock(p, units)) {
            size += 8;
            p += 8;
            continue;
        }
#endif
        const char16_t c = *p++;
        if (c < 0x80) {
            size += 1;
        } else if (c < 0x800) {
            size += 2;
        } else if (isHighSurrogate(c) && p < end && isLowSurrogate(*p)) {
            size += 4;
            ++p;
        } else if (isHighSurrogate(c) || isLowSurrogate(c)) {
            size += 1;   // unpaired: '?'
        } else {
            size += 3;
        }
    }
    return size;
}

char *writeUtf8(std::u16string_view text, char *out) noexcept
{
    const char16_t *p = text.data();
    const char16_t *const end = p + text.size();
    while (p < end) {
#if defined(QWS_UTF16_SSE2)
        __m128i units;
        if (end - p >= 8 && asciiBlock(p, units)) {
            _mm_storel_epi64(reinterpret_cast<__m128i *>(out), _mm_packus_epi16(units, units));
            out += 8;
            p += 8;
            continue;
        }
#endif
        const char16_t c = *p++;
        if (c < 0x80) {
            *out++ = static_cast<char>(c);
        } else if (c < 0x800) {
            *out++ = static_cast<char>(0xC0 | (c >> 6));
            *out++ = static_cast<char>(0x80 | (c & 0x3F));
        } else if (isHighSurrogate(c) && p < end && isLowSurrogate(*p)) {
            const std::uint32_t cp = 0x10000 + ((std::uint32_t(c) - 0xD800) << 10) + (std::uint32_t(*p++) - 0xDC00);
            *out++ = static_cast<char>(0xF0 | (cp >> 18));
            *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            *out++ = static_cast<char>(0x80 | (cp & 0x3F));
        } else if (isHighSurrogate(c) || isLowSurrogate(c)) {
            *out++ = '?';
        } else {
            *out++ = static_cast<char>(0xE0 | (c >> 12));
            *out++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            *out++ = static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

} // namespace qws::protocol
