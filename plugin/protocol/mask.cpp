// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.3 (un)masking: 64 bytes per step with SSE2 on x86-64, 8 with a uint64 elsewhere.
#include "mask.h"

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define QWS_MASK_SSE2 1
#endif

namespace qws::protocol {

namespace {

// §5.3: octet i of the payload is XORed with octet (i mod 4) of the key. Starting at `phase` shifts
// the key; every stride below is a multiple of 4, so one rotated pattern serves the whole buffer.
// All loads and stores go through memcpy / unaligned intrinsics: payloads sit anywhere in a buffer.
std::size_t maskBytes(std::byte *dst, const std::byte *src, std::size_t size,
                      const std::array<std::uint8_t, 4> &key, std::size_t phase) noexcept
{
    phase &= 3;
    const std::size_t next = (phase + size) & 3;
    // The key rotated by `phase` bytes, repeated: byte j of `word` is key[(phase + j) % 4] (memory
    // order), whatever the machine's byte order. Built with one rotate, not a loop per byte: for a
    // 64-byte message the loop cost as much as the XOR itself.
    std::uint32_t word;
    std::memcpy(&word, key.data(), sizeof word);
    if (phase) {
        const unsigned bits = unsigned(phase) * 8;
        if constexpr (std::endian::native == std::endian::little)
            word = (word >> bits) | (word << (32 - bits));
        else
            word = (word << bits) | (word >> (32 - bits));
    }
    unsigned char pattern[16];
    for (std::size_t i = 0; i < sizeof pattern; i += 4)
        std::memcpy(pattern + i, &word, sizeof word);

    std::size_t i = 0;
#ifdef QWS_MASK_SSE2
    const __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i *>(pattern));
    for (; i + 64 <= size; i += 64) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i + 16));
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i + 32));
        const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i + 48));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= size; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), _mm_xor_si128(a, k));
    }
#endif
    // Portable path (and the SSE2 path's tail): a machine word at a time.
    std::uint64_t k64;
    std::memcpy(&k64, pattern, sizeof k64);
    for (; i + 8 <= size; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, src + i, sizeof w);
        w ^= k64;
        std::memcpy(dst + i, &w, sizeof w);
    }
    for (; i < size; ++i)
        dst[i] = src[i] ^ static_cast<std::byte>(pattern[i & 3]);
    return next;
}

} // namespace

std::size_t applyMask(std::span<std::byte> data, const std::array<std::uint8_t, 4> &key,
                      std::size_t phase) noexcept
{
    return maskBytes(data.data(), data.data(), data.size(), key, phase);
}

std::size_t applyMaskCopy(std::byte *dst, const std::byte *src, std::size_t size,
                          const std::array<std::uint8_t, 4> &key, std::size_t phase) noexcept
{
    return maskBytes(dst, src, size, key, phase);
}

} // namespace qws::protocol
