// SPDX-License-Identifier: BSD-3-Clause
// Streaming UTF-8 validation (RFC 3629 §4; RFC 6455 §8.1): a shift-based DFA plus an ASCII fast path.
#include "utf8.h"

#include <array>
#include <cstring>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define QWS_UTF8_SSE2 1
#endif

// The DFA step is a variable shift. Baseline x86-64 has only `shr reg, cl`, which funnels every
// chain through CL; BMI2's `shrx` takes any register, so two chains really run side by side. The
// same code is compiled twice and picked at start-up (GCC and Clang on x86). Define
// QWS_UTF8_NO_DISPATCH to build the baseline path alone (to test or measure it).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__BMI2__) && !defined(QWS_UTF8_NO_DISPATCH)
#define QWS_UTF8_DISPATCH 1
#define QWS_INLINE inline __attribute__((always_inline))
#else
#define QWS_INLINE inline
#endif

namespace qws::protocol {

namespace {

// The DFA of RFC 3629 §4's grammar. Each state is a multiple of 6 and a transition row is one uint64
// holding, at bit offset `s`, the 6-bit next state for current state `s`: next = row[byte] >> s & 63.
// The step is one load (independent of the state) and one shift, so the only dependency chain is
// the shift: about a byte per cycle per chain, with no data-dependent branches. Reject (the error
// state) is offset 0: every row has zeros there, so it absorbs.
enum State : std::uint8_t {
    Reject = 0,
    Accept = 6,
    Tail1 = 12,   // one more continuation 80–BF
    Tail2 = 18,   // two more, the next 80–BF
    Tail3 = 24,   // three more, the next 80–BF
    AfterE0 = 30, // E0 A0–BF: below A0 is an overlong 3-byte form
    AfterED = 36, // ED 80–9F: A0–BF would encode a surrogate U+D800–DFFF
    AfterF0 = 42, // F0 90–BF: below 90 is an overlong 4-byte form
    AfterF4 = 48, // F4 80–8F: 90 and up is beyond U+10FFFF
};
static_assert(Accept == 6 && Reject == 0, "utf8.h's kAccept / kError mirror these");

constexpr std::uint8_t next(std::uint8_t state, unsigned b) noexcept
{
    const bool cont = b >= 0x80 && b <= 0xBF;
    switch (state) {
    case Accept:
        if (b <= 0x7F) return Accept;
        if (b <= 0xC1) return Reject;   // stray continuation, or C0/C1 (always overlong)
        if (b <= 0xDF) return Tail1;
        if (b == 0xE0) return AfterE0;
        if (b == 0xED) return AfterED;
        if (b <= 0xEF) return Tail2;
        if (b == 0xF0) return AfterF0;
        if (b <= 0xF3) return Tail3;
        if (b == 0xF4) return AfterF4;
        return Reject;                  // F5–FF never appear in UTF-8
    case Tail1: return cont ? Accept : Reject;
    case Tail2: return cont ? Tail1 : Reject;
    case Tail3: return cont ? Tail2 : Reject;
    case AfterE0: return b >= 0xA0 && b <= 0xBF ? Tail1 : Reject;
    case AfterED: return b >= 0x80 && b <= 0x9F ? Tail1 : Reject;
    case AfterF0: return b >= 0x90 && b <= 0xBF ? Tail2 : Reject;
    case AfterF4: return b >= 0x80 && b <= 0x8F ? Tail2 : Reject;
    default: return Reject;
    }
}

constexpr std::array<std::uint64_t, 256> makeRows() noexcept
{
    std::array<std::uint64_t, 256> rows{};
    constexpr std::uint8_t states[] = {Accept, Tail1, Tail2, Tail3, AfterE0, AfterED, AfterF0, AfterF4};
    for (unsigned b = 0; b < 256; ++b) {
        for (std::uint8_t s : states)
            rows[b] |= std::uint64_t{next(s, b)} << s;
    }
    return rows;
}

constexpr std::array<std::uint64_t, 256> kRows = makeRows();

static_assert((kRows[0x41] >> Accept & 63) == Accept);
static_assert((kRows[0xE0] >> Accept & 63) == AfterE0);
static_assert((kRows[0x9F] >> AfterE0 & 63) == Reject);
static_assert((kRows[0xA0] >> AfterED & 63) == Reject);
static_assert((kRows[0x41] >> Reject & 63) == Reject);

QWS_INLINE std::uint64_t step(std::uint64_t state, std::uint8_t b) noexcept
{
    return kRows[b] >> (state & 63);
}

constexpr std::size_t kBlock = 16;

// True when the 16 bytes at p are all ASCII.
QWS_INLINE bool asciiBlock(const unsigned char *p) noexcept
{
#ifdef QWS_UTF8_SSE2
    return _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))) == 0;
#else
    std::uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    return ((a | b) & UINT64_C(0x8080808080808080)) == 0;
#endif
}

// 16 DFA steps, unrolled: the loads do not depend on the state, only the shifts chain.
QWS_INLINE std::uint64_t stepBlock(std::uint64_t state, const unsigned char *p) noexcept
{
#pragma GCC unroll 16
    for (std::size_t j = 0; j < kBlock; ++j)
        state = step(state, p[j]);
    return state;
}

// Runs the DFA over [p, p + n); returns the state (low 6 bits significant).
QWS_INLINE std::uint64_t run(std::uint64_t state, const unsigned char *p, std::size_t n) noexcept
{
    std::size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        // Between code points, a block of ASCII leaves the state at Accept: skip it whole.
        if ((state & 63) == Accept && asciiBlock(p + i))
            continue;
        state = stepBlock(state, p + i);
        if ((state & 63) == Reject)
            return Reject;   // stop early: nothing after the first invalid byte matters
    }
    for (; i < n; ++i)
        state = step(state, p[i]);
    return state & 63;
}

constexpr std::size_t kSplitAbove = 512;

constexpr bool isContinuation(unsigned char b) noexcept { return (b & 0xC0) == 0x80; }

// One DFA is a chain of dependent shifts (~1 byte/cycle); two independent chains over the two
// halves of a piece overlap in the pipeline. The second half starts at a code point boundary s, so
// it starts in Accept; the first half must end in Accept too, or byte s (not a continuation byte)
// is where a sequential run fails. The piece is valid exactly when both halves are.
QWS_INLINE std::uint64_t validate(std::uint64_t state, const unsigned char *p, std::size_t n) noexcept
{
    if (n < kSplitAbove)
        return run(state, p, n);
    std::size_t s = n / 2;
    for (int back = 0; back < 3 && isContinuation(p[s]); ++back)
        --s;
    if (isContinuation(p[s]))
        return run(state, p, n);   // four continuation bytes in a row: invalid, let one run find it

    const unsigned char *pa = p, *pb = p + s;
    const std::size_t common = s < n - s ? s : n - s;
    std::uint64_t a = state, b = Accept;
    std::size_t i = 0;
    for (; i + kBlock <= common; i += kBlock) {
        const bool skipA = (a & 63) == Accept && asciiBlock(pa + i);
        const bool skipB = (b & 63) == Accept && asciiBlock(pb + i);
        if (!skipA && !skipB) {
#pragma GCC unroll 4
            for (std::size_t j = 0; j < kBlock; ++j) {
                a = step(a, pa[i + j]);
                b = step(b, pb[i + j]);
            }
        } else if (!skipA) {
            a = stepBlock(a, pa + i);
        } else if (!skipB) {
            b = stepBlock(b, pb + i);
        }
        if ((a & 63) == Reject || (b & 63) == Reject)
            return Reject;
    }
    if (run(a, pa + i, s - i) != Accept)
        return Reject;
    return run(b, pb + i, n - s - i);
}

using ValidateFn = std::uint64_t (*)(std::uint64_t, const unsigned char *, std::size_t) noexcept;

std::uint64_t validateBaseline(std::uint64_t state, const unsigned char *p, std::size_t n) noexcept
{
    return validate(state, p, n);
}

#ifdef QWS_UTF8_DISPATCH
__attribute__((target("bmi2"))) std::uint64_t validateBmi2(std::uint64_t state, const unsigned char *p,
                                                           std::size_t n) noexcept
{
    return validate(state, p, n);
}

ValidateFn pickValidate() noexcept
{
    __builtin_cpu_init();   // may run before libgcc's own constructor
    return __builtin_cpu_supports("bmi2") ? validateBmi2 : validateBaseline;
}

// A function-local static: safe even when another translation unit validates during static init.
ValidateFn selectedValidate() noexcept
{
    static const ValidateFn fn = pickValidate();
    return fn;
}
#else
constexpr ValidateFn selectedValidate() noexcept { return validateBaseline; }
#endif

// True when all `n` bytes at p are ASCII: 16 bytes a step, then 8, then one at a time.
bool allAscii(const unsigned char *p, std::size_t n) noexcept
{
    std::size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        if (!asciiBlock(p + i))
            return false;
    }
    std::uint64_t high = 0;
    if (i + 8 <= n) {
        std::uint64_t word;
        std::memcpy(&word, p + i, 8);
        high = word;
        i += 8;
    }
    for (; i < n; ++i)
        high |= p[i];
    return (high & UINT64_C(0x8080808080808080)) == 0;
}

// Whole short texts (most messages) are usually ASCII: one pass of block tests, no DFA dispatch.
constexpr std::size_t kAsciiFirstMax = 256;

} // namespace

bool Utf8Validator::write(std::span<const std::byte> piece) noexcept
{
    if (m_state == kError)
        return false;
    m_state = static_cast<std::uint8_t>(
        selectedValidate()(m_state, reinterpret_cast<const unsigned char *>(piece.data()), piece.size()));
    return m_state != kError;
}

bool Utf8Validator::write(std::string_view piece) noexcept
{
    return write(std::span<const std::byte>(reinterpret_cast<const std::byte *>(piece.data()), piece.size()));
}

bool isValidUtf8(std::span<const std::byte> data) noexcept
{
    if (data.size() <= kAsciiFirstMax && allAscii(reinterpret_cast<const unsigned char *>(data.data()), data.size()))
        return true;
    Utf8Validator v;
    return v.write(data) && v.finish();
}

bool isValidUtf8(std::string_view data) noexcept
{
    return isValidUtf8(std::span<const std::byte>(reinterpret_cast<const std::byte *>(data.data()), data.size()));
}

} // namespace qws::protocol
