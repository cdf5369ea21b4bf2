// SPDX-License-Identifier: BSD-3-Clause
// Masking (RFC 6455 §5.3): the fast paths against a byte-by-byte reference, every length/phase/offset.
#include "chunks.h"

#include <protocol/mask.h>

#include <QTest>

#include <random>
#include <vector>

using namespace qws::protocol;

namespace {

constexpr std::array<std::uint8_t, 4> kKey{0x37, 0xfa, 0x21, 0x3d};   // RFC 6455 §5.7's key

/// §5.3 read literally: "j = i MOD 4; transformed-octet-i = original-octet-i XOR masking-key-octet-j".
std::vector<std::byte> naive(const std::vector<std::byte> &in, const std::array<std::uint8_t, 4> &key,
                             std::size_t phase)
{
    std::vector<std::byte> out(in.size());
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = in[i] ^ std::byte{key[(phase + i) % 4]};
    return out;
}

std::vector<std::byte> randomBytes(std::size_t n, std::mt19937 &rng)
{
    std::vector<std::byte> v(n);
    for (auto &b : v)
        b = std::byte(rng() & 0xff);
    return v;
}

} // namespace

class TestMask : public QObject
{
    Q_OBJECT

private slots:
    void rfcExample();
    void matchesNaiveForEveryLengthPhaseAndOffset();
    void copyMatchesNaiveAndLeavesSourceAlone();
    void copyInPlace();
    void randomPieces_data();
    void randomPieces();
    void largeBufferWithEveryKeyByte();
    void asciiPassMatchesMaskAndHighBits();
};

// RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58.
void TestMask::rfcExample()
{
    const std::string hello = "Hello";
    std::vector<std::byte> data(qws::test::bytes(hello).begin(), qws::test::bytes(hello).end());
    QCOMPARE(applyMask(data, kKey), std::size_t(1));
    const std::vector<std::byte> want{std::byte{0x7f}, std::byte{0x9f}, std::byte{0x4d}, std::byte{0x51},
                                      std::byte{0x58}};
    QCOMPARE(data, want);
    QCOMPARE(applyMask(data, kKey), std::size_t(1));   // masking twice restores
    QCOMPARE(std::string(reinterpret_cast<const char *>(data.data()), data.size()), hello);
}

// Lengths 0..80 cover every tail of the 64/16/8-byte loops, longer ones (to 700, in steps of 7) the
// 128-byte AVX2 loop and its tails; offsets 0..15 put the data at every alignment; phases 0..3 (and
// 4..7, taken mod 4) start anywhere in the key.
void TestMask::matchesNaiveForEveryLengthPhaseAndOffset()
{
    std::mt19937 rng(6455);
    const std::vector<std::byte> source = randomBytes(700 + 16, rng);
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t len = 0; len <= 700; len += (len < 80 ? 1 : 7)) {   // past the AVX2 path's 512
            for (std::size_t phase = 0; phase < 8; ++phase) {
                std::vector<std::byte> buf = source;   // guard bytes around the window must not change
                const std::vector<std::byte> window(buf.begin() + offset, buf.begin() + offset + len);
                const std::size_t next = applyMask(std::span(buf).subspan(offset, len), kKey, phase);
                QCOMPARE(next, (phase + len) % 4);
                std::vector<std::byte> want = source;
                const auto masked = naive(window, kKey, phase % 4);
                std::copy(masked.begin(), masked.end(), want.begin() + offset);
                if (buf != want)
                    QFAIL(qPrintable(QStringLiteral("offset %1 length %2 phase %3").arg(offset).arg(len).arg(phase)));
            }
        }
    }
}

void TestMask::copyMatchesNaiveAndLeavesSourceAlone()
{
    std::mt19937 rng(7692);
    const std::vector<std::byte> source = randomBytes(64 + 16, rng);
    for (std::size_t offset = 0; offset < 16; ++offset) {
        for (std::size_t len = 0; len <= 64; ++len) {
            for (std::size_t phase = 0; phase < 4; ++phase) {
                const std::vector<std::byte> src = source;
                std::vector<std::byte> dst(len + 32, std::byte{0xee});
                const std::size_t next = applyMaskCopy(dst.data() + (15 - offset), src.data() + offset, len,
                                                       kKey, phase);
                QCOMPARE(next, (phase + len) % 4);
                QCOMPARE(src, source);
                const std::vector<std::byte> window(source.begin() + offset, source.begin() + offset + len);
                const auto want = naive(window, kKey, phase);
                QVERIFY(std::equal(want.begin(), want.end(), dst.begin() + (15 - offset)));
                for (std::size_t i = 0; i < dst.size(); ++i) {
                    if (i < 15 - offset || i >= 15 - offset + len)
                        QCOMPARE(dst[i], std::byte{0xee});
                }
            }
        }
    }
}

void TestMask::copyInPlace()
{
    std::mt19937 rng(1);
    const std::vector<std::byte> source = randomBytes(1000, rng);
    std::vector<std::byte> buf = source;
    QCOMPARE(applyMaskCopy(buf.data(), buf.data(), buf.size(), kKey, 3), std::size_t(3));
    QCOMPARE(buf, naive(source, kKey, 3));
}

void TestMask::randomPieces_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("maxPiece");
    QTest::newRow("RFC 6455 §5.3: 1000 bytes unmasked in 1..7-byte pieces") << 1000 << 7;
    QTest::newRow("RFC 6455 §5.3: 5000 bytes unmasked in 1..100-byte pieces") << 5000 << 100;
    QTest::newRow("RFC 6455 §5.3: 70000 bytes unmasked in 1..4099-byte pieces") << 70000 << 4099;
}

// A payload arrives in arbitrary reads; carrying the returned phase must give the one-shot result.
void TestMask::randomPieces()
{
    QFETCH(int, size);
    QFETCH(int, maxPiece);
    std::mt19937 rng(size);
    const std::vector<std::byte> source = randomBytes(std::size_t(size), rng);
    for (std::array<std::uint8_t, 4> key : {kKey, std::array<std::uint8_t, 4>{0, 0xff, 0x80, 0x01}}) {
        for (int round = 0; round < 20; ++round) {
            std::vector<std::byte> buf = source;
            std::size_t phase = 0, at = 0;
            while (at < buf.size()) {
                const std::size_t n = std::min<std::size_t>(1 + rng() % maxPiece, buf.size() - at);
                phase = applyMask(std::span(buf).subspan(at, n), key, phase);
                at += n;
            }
            QCOMPARE(phase, source.size() % 4);
            QCOMPARE(buf, naive(source, key, 0));
        }
    }
}

// One 1 MiB buffer through the 64-byte loop, with keys exercising every bit position.
void TestMask::largeBufferWithEveryKeyByte()
{
    std::mt19937 rng(42);
    const std::vector<std::byte> source = randomBytes(1 << 20, rng);
    for (int k = 0; k < 256; k += 51) {
        const std::array<std::uint8_t, 4> key{std::uint8_t(k), std::uint8_t(255 - k), std::uint8_t(k ^ 0x5a),
                                              std::uint8_t(k * 7)};
        std::vector<std::byte> buf = source;
        applyMask(std::span(buf).subspan(1), key, 2);   // unaligned start, mid-key phase
        QCOMPARE(buf[0], source[0]);
        const std::vector<std::byte> window(source.begin() + 1, source.end());
        const auto want = naive(window, key, 2);
        QVERIFY(std::equal(want.begin(), want.end(), buf.begin() + 1));
    }
}

// applyMaskAscii(): the same bytes as applyMask() from phase 0, and "all ASCII" exactly when no
// unmasked byte has its high bit set: every length a small message can have, the high bit at every
// position (in the 16-byte steps, the 8-byte step and the byte tail), and none.
void TestMask::asciiPassMatchesMaskAndHighBits()
{
    std::mt19937 rng(7);
    for (std::size_t n = 0; n <= 140; ++n) {
        std::vector<std::byte> plain(n);
        for (auto &b : plain)
            b = std::byte(rng() & 0x7f);
        for (std::size_t high = 0; high <= n; ++high) {   // high == n: no byte above 0x7F
            std::vector<std::byte> clear = plain;
            if (high < n)
                clear[high] |= std::byte{0x80};
            std::vector<std::byte> wire = naive(clear, kKey, 0);   // masking is its own inverse
            const bool ascii = applyMaskAscii(wire, kKey);
            QVERIFY2(wire == clear, qPrintable(QStringLiteral("length %1, high bit at %2").arg(n).arg(high)));
            QVERIFY2(ascii == (high == n), qPrintable(QStringLiteral("length %1, high bit at %2").arg(n).arg(high)));
        }
    }
}

QTEST_APPLESS_MAIN(TestMask)
#include "tst_mask.moc"
