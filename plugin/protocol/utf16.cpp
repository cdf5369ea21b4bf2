// SPDX-License-Identifier: BSD-3-Clause
// UTF-16 ↔ UTF-8 (RFC 3629 §3), with ASCII paths that take 8 units / 16 bytes at a time.
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

/// The length of the all-ASCII run at `p`, in whole blocks of 16 code units (the rest goes unit by
/// unit or 8 at a time); with `out`, those units are also written there as bytes.
inline std::size_t asciiRun(const char16_t *p, const char16_t *end, char *out) noexcept
{
    const char16_t *const start = p;
    const __m128i highBits = _mm_set1_epi16(static_cast<short>(0xFF80));
    while (end - p >= 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 8));
        const __m128i high = _mm_and_si128(_mm_or_si128(a, b), highBits);
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(high, _mm_setzero_si128())) != 0xFFFF)
            break;
        if (out)
            _mm_storeu_si128(reinterpret_cast<__m128i *>(out + (p - start)), _mm_packus_epi16(a, b));
        p += 16;
    }
    return std::size_t(p - start);
}
#endif

} // namespace

std::size_t utf8Size(std::u16string_view text) noexcept
{
    const char16_t *p = text.data();
    const char16_t *const end = p + text.size();
    std::size_t size = 0;
#if defined(QWS_UTF16_SSE2)
    size = asciiRun(p, end, nullptr);
    p += size;
#endif
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
#if defined(QWS_UTF16_SSE2)
    const std::size_t run = asciiRun(p, end, out);
    p += run;
    out += run;
#endif
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

std::size_t utf16Size(std::string_view utf8) noexcept
{
    // Every byte that is not a continuation byte (10xxxxxx) starts a code point; a 4-byte lead
    // (11110xxx) starts one that needs a surrogate pair.
    const auto *p = reinterpret_cast<const unsigned char *>(utf8.data());
    const auto *const end = p + utf8.size();
    std::size_t size = 0;
#if defined(QWS_UTF16_SSE2)
    while (end - p >= 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        const int high = _mm_movemask_epi8(bytes);
        if (high == 0) {
            size += 16;
        } else {
            for (int i = 0; i < 16; ++i)
                size += (p[i] & 0xC0) != 0x80 ? (p[i] >= 0xF0 ? 2 : 1) : 0;
        }
        p += 16;
    }
#endif
    for (; p < end; ++p)
        size += (*p & 0xC0) != 0x80 ? (*p >= 0xF0 ? 2 : 1) : 0;
    return size;
}

char16_t *writeUtf16(std::string_view utf8, char16_t *out) noexcept
{
    const auto *p = reinterpret_cast<const unsigned char *>(utf8.data());
    const auto *const end = p + utf8.size();
    while (p < end) {
#if defined(QWS_UTF16_SSE2)
        if (end - p >= 16) {
            const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
            if (_mm_movemask_epi8(bytes) == 0) {
                const __m128i zero = _mm_setzero_si128();
                _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm_unpacklo_epi8(bytes, zero));
                _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 8), _mm_unpackhi_epi8(bytes, zero));
                out += 16;
                p += 16;
                continue;
            }
        }
#endif
        const unsigned char b = *p;
        if (b < 0x80) {
            *out++ = char16_t(b);
            ++p;
            continue;
        }
        if (b < 0xC0) {   // a stray continuation byte (invalid input): counted as nothing, so skipped
            ++p;
            continue;
        }
        // A lead byte and its continuation bytes; a truncated sequence (invalid input) stops at `end`.
        std::size_t length = b >= 0xF0 ? 4 : (b >= 0xE0 ? 3 : 2);
        std::uint32_t cp = b & (0x7F >> length);
        ++p;
        for (std::size_t i = 1; i < length && p < end; ++i, ++p)
            cp = (cp << 6) | (*p & 0x3F);
        if (length == 4) {
            cp -= 0x10000;
            *out++ = char16_t(0xD800 + ((cp >> 10) & 0x3FF));
            *out++ = char16_t(0xDC00 + (cp & 0x3FF));
        } else {
            *out++ = char16_t(cp);
        }
    }
    return out;
}

} // namespace qws::protocol
