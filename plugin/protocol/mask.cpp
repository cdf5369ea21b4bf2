// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.3 (un)masking: 64 bytes per step with SSE2 on x86-64 (128 with AVX2 where the CPU has it),
// 8 with a uint64 elsewhere.
#include "mask.h"

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <immintrin.h>
#define QWS_MASK_SSE2 1
#endif

namespace qws::protocol {

namespace {

// §5.3: octet i of the payload is XORed with octet (i mod 4) of the key. Starting at `phase` shifts
// the key; every stride below is a multiple of 4, so one rotated pattern serves the whole buffer.
// All loads and stores go through memcpy / unaligned intrinsics: payloads sit anywhere in a buffer.
// The key rotated by `phase` (0–3) bytes: byte j of the word is key[(phase + j) % 4] in memory order,
// whatever the machine's byte order. One rotate, not a loop per byte: for a 64-byte message that loop
// cost as much as the XOR itself.
inline std::uint32_t keyWord(const std::array<std::uint8_t, 4> &key, std::size_t phase) noexcept
{
    std::uint32_t word;
    std::memcpy(&word, key.data(), sizeof word);
    if (phase) {
        const unsigned bits = unsigned(phase) * 8;
        if constexpr (std::endian::native == std::endian::little)
            word = (word >> bits) | (word << (32 - bits));
        else
            word = (word << bits) | (word >> (32 - bits));
    }
    return word;
}

std::size_t maskBytes(std::byte *dst, const std::byte *src, std::size_t size,
                      const std::array<std::uint8_t, 4> &key, std::size_t phase) noexcept
{
    phase &= 3;
    const std::size_t next = (phase + size) & 3;
    const std::uint32_t word = keyWord(key, phase);
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

#if defined(QWS_MASK_SSE2) && defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
#define QWS_MASK_AVX2_DISPATCH 1
// The same loop on 32-byte registers, 128 bytes a step, for CPUs that have AVX2 (picked at run time, as
// utf8.cpp picks BMI2). Only for payloads of kAvx2Min bytes and more: a 64-byte message is done by the
// SSE2 loop before the wider one would pay off. The tail goes to maskBytes() with the phase it reached.
constexpr std::size_t kAvx2Min = 512;

__attribute__((target("avx2"))) std::size_t maskBytesAvx2(std::byte *dst, const std::byte *src, std::size_t size,
                                                          const std::array<std::uint8_t, 4> &key,
                                                          std::size_t phase) noexcept
{
    phase &= 3;
    const __m256i k = _mm256_set1_epi32(static_cast<int>(keyWord(key, phase)));
    std::size_t i = 0;
    for (; i + 128 <= size; i += 128) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 32));
        const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 64));
        const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 96));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i + 96), _mm256_xor_si256(d, k));
    }
    // Every step was a multiple of 4 bytes, so the phase for the rest is unchanged.
    return maskBytes(dst + i, src + i, size - i, key, phase);
}

bool haveAvx2() noexcept
{
    static const bool avx2 = __builtin_cpu_supports("avx2");
    return avx2;
}
#endif

std::size_t mask(std::byte *dst, const std::byte *src, std::size_t size, const std::array<std::uint8_t, 4> &key,
                 std::size_t phase) noexcept
{
#ifdef QWS_MASK_AVX2_DISPATCH
    if (size >= kAvx2Min && haveAvx2())
        return maskBytesAvx2(dst, src, size, key, phase);
#endif
    return maskBytes(dst, src, size, key, phase);
}

} // namespace

std::size_t applyMask(std::span<std::byte> data, const std::array<std::uint8_t, 4> &key,
                      std::size_t phase) noexcept
{
    return mask(data.data(), data.data(), data.size(), key, phase);
}

std::size_t applyMaskCopy(std::byte *dst, const std::byte *src, std::size_t size,
                          const std::array<std::uint8_t, 4> &key, std::size_t phase) noexcept
{
    return mask(dst, src, size, key, phase);
}

// Meant for small messages (under 126 bytes): 16 bytes a step, no wide dispatch. The unmasked bytes
// are ORed together as they are stored; one test of the high bits at the end.
bool applyMaskAscii(std::span<std::byte> data, const std::array<std::uint8_t, 4> &key) noexcept
{
    std::byte *p = data.data();
    const std::size_t size = data.size();
    const std::uint32_t word = keyWord(key, 0);
    const std::uint64_t k64 = std::uint64_t{word} | (std::uint64_t{word} << 32);
    std::size_t i = 0;
    std::uint64_t high = 0;
#ifdef QWS_MASK_SSE2
    const __m128i k = _mm_set1_epi32(static_cast<int>(word));
    __m128i any = _mm_setzero_si128();
    for (; i + 16 <= size; i += 16) {
        const __m128i a = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p + i)), k);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(p + i), a);
        any = _mm_or_si128(any, a);
    }
    high = _mm_movemask_epi8(any) ? 0x80 : 0;
#endif
    for (; i + 8 <= size; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, sizeof w);
        w ^= k64;
        std::memcpy(p + i, &w, sizeof w);
        high |= w;
    }
    for (; i < size; ++i) {
        p[i] ^= std::byte{key[i & 3]};
        high |= std::to_integer<std::uint64_t>(p[i]);
    }
    return (high & UINT64_C(0x8080808080808080)) == 0;
}

} // namespace qws::protocol
