// SPDX-License-Identifier: BSD-3-Clause
// UTF-8 validation (RFC 3629 §4, RFC 6455 §8.1): every lead byte, every boundary, Kuhn-style stress
// cases, and the exact first invalid byte whatever way the input is split.
#include "chunks.h"

#include <protocol/utf8.h>

#include <QTest>

#include <cstring>
#include <random>
#include <string>

using namespace qws::protocol;

Q_DECLARE_METATYPE(std::string)

namespace {

using qws::test::hex;

/// The reference: decode code point by code point and check the value (a different method from the
/// validator's byte DFA). Returns true when `s` is complete, valid UTF-8.
bool referenceValid(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<std::uint8_t>(s[i]);
        std::size_t len;
        std::uint32_t cp, min;
        if (b < 0x80) { ++i; continue; }
        if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; min = 0x80; }
        else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; min = 0x800; }
        else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; min = 0x10000; }
        else return false;
        if (i + len > s.size())
            return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto c = static_cast<std::uint8_t>(s[i + k]);
            if ((c & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/// The index of the first byte after which no continuation can make the input valid, or -1 when
/// the whole input is a valid prefix. `complete` tells whether it is valid as it stands.
int referenceFirstInvalid(std::string_view s, bool &complete)
{
    // A prefix is extendable when some 0–3 continuation bytes complete it; trying each valid range's
    // end points (80, 90, A0, BF) is enough, as every range in RFC 3629 §4 starts or ends at one.
    static const std::uint8_t reps[] = {0x80, 0x90, 0xA0, 0xBF};
    const auto extendable = [](std::string_view tail) {
        for (int extra = 0; extra <= 3; ++extra) {
            int combos = 1;
            for (int k = 0; k < extra; ++k)
                combos *= 4;
            for (int c = 0; c < combos; ++c) {
                std::string t(tail);
                for (int k = 0, v = c; k < extra; ++k, v /= 4)
                    t.push_back(static_cast<char>(reps[v % 4]));
                if (referenceValid(t))
                    return true;
            }
        }
        return false;
    };
    std::size_t start = 0;   // start of the code point in progress; everything before it is valid
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!extendable(s.substr(start, i + 1 - start))) {
            complete = false;
            return int(i);
        }
        if (referenceValid(s.substr(start, i + 1 - start)))
            start = i + 1;
    }
    complete = start == s.size();
    return -1;
}

/// Feeds `chunking` and returns the index of the chunk whose write() returned false (-1 if none).
int failingChunk(Utf8Validator &v, const qws::test::Chunking &chunking)
{
    int failedAt = -1;
    for (std::size_t c = 0; c < chunking.chunks.size(); ++c) {
        const bool ok = v.write(chunking.chunks[c]);
        if (!ok && failedAt < 0)
            failedAt = int(c);
        if (failedAt >= 0 && ok)
            return -2;   // a failed validator must stay failed
    }
    return failedAt;
}

/// The chunk that holds byte `index`.
int chunkOf(const qws::test::Chunking &chunking, int index)
{
    int at = 0;
    for (std::size_t c = 0; c < chunking.chunks.size(); ++c) {
        at += int(chunking.chunks[c].size());
        if (index < at)
            return int(c);
    }
    return -1;
}

/// Checks the validator against (firstInvalid, complete) for every chunking of `input`.
void checkAllChunkings(const std::string &input, int firstInvalid, bool complete)
{
    for (const auto &chunking : qws::test::allChunkings(input)) {
        Utf8Validator v;
        const int got = failingChunk(v, chunking);
        const int want = firstInvalid < 0 ? -1 : chunkOf(chunking, firstInvalid);
        if (got != want)
            QFAIL(qPrintable(QStringLiteral("%1: write() failed on chunk %2, expected %3")
                                 .arg(QString::fromStdString(chunking.name)).arg(got).arg(want)));
        QCOMPARE(v.failed(), firstInvalid >= 0);
        QCOMPARE(v.finish(), firstInvalid < 0 && complete);
    }
    QCOMPARE(isValidUtf8(input), firstInvalid < 0 && complete);
}

} // namespace

class TestUtf8 : public QObject
{
    Q_OBJECT

private slots:
    void everyLeadByte_data();
    void everyLeadByte();
    void sequences_data();
    void sequences();
    void invalidByteAtEveryPositionOfLongText();
    void shortTextsEveryLengthAndPosition();
    void exhaustiveShortSequences();
    void randomAgainstReference();
    void longPiecesAgainstReference();
    void resetAndEmptyPieces();
};

// Beast utf8_checker style: each of the 256 byte values, alone and followed by its smallest valid tail.
void TestUtf8::everyLeadByte_data()
{
    QTest::addColumn<int>("lead");
    QTest::addColumn<int>("tailLength");   // -1: can never start a code point
    QTest::addColumn<int>("minSecond");    // the smallest second byte RFC 3629 allows after it
    for (int b = 0; b < 256; ++b) {
        int tail = -1, second = 0x80;
        const char *what = "invalid";
        if (b <= 0x7F) { tail = 0; what = "ASCII"; }
        else if (b <= 0xBF) what = "stray continuation byte";
        else if (b <= 0xC1) what = "overlong 2-byte lead";
        else if (b <= 0xDF) { tail = 1; what = "2-byte lead"; }
        else if (b <= 0xEF) { tail = 2; what = "3-byte lead"; second = b == 0xE0 ? 0xA0 : 0x80; }
        else if (b <= 0xF4) { tail = 3; what = "4-byte lead"; second = b == 0xF0 ? 0x90 : 0x80; }
        else what = "beyond U+10FFFF";
        const QByteArray name = QByteArray("RFC 3629 §4: byte 0x") + QByteArray::number(b, 16).rightJustified(2, '0')
            + " (" + what + ")";
        QTest::newRow(name.constData()) << b << tail << second;
    }
}

void TestUtf8::everyLeadByte()
{
    QFETCH(int, lead);
    QFETCH(int, tailLength);
    QFETCH(int, minSecond);

    Utf8Validator alone;
    QCOMPARE(alone.write(hex({lead})), tailLength >= 0);
    QCOMPARE(alone.finish(), tailLength == 0);   // a lead byte alone is a truncated code point

    if (tailLength > 0) {
        std::string seq = hex({lead, minSecond});
        seq.append(std::size_t(tailLength - 1), '\x80');
        checkAllChunkings(seq, -1, true);
        // One byte below the smallest allowed second byte, and an ASCII byte where a tail is due.
        if (minSecond > 0x80)
            checkAllChunkings(hex({lead, minSecond - 1}), 1, false);
        checkAllChunkings(hex({lead, 'A'}), 1, false);
    }
}

void TestUtf8::sequences_data()
{
    QTest::addColumn<std::string>("input");
    QTest::addColumn<int>("firstInvalid");   // -1: a valid prefix
    QTest::addColumn<bool>("complete");      // finish() when valid

    const auto ok = [](const char *name, std::string s) { QTest::newRow(name) << std::move(s) << -1 << true; };
    const auto bad = [](const char *name, std::string s, int at) { QTest::newRow(name) << std::move(s) << at << false; };
    const auto cut = [](const char *name, std::string s) { QTest::newRow(name) << std::move(s) << -1 << false; };

    ok("RFC 6455 §8.1: the empty text message is valid", "");
    ok("RFC 3629 §4: U+0000", hex({0x00}));
    ok("RFC 3629 §4: U+007F, the last 1-byte code point", hex({0x7F}));
    ok("RFC 3629 §4: U+0080, the first 2-byte code point", hex({0xC2, 0x80}));
    ok("RFC 3629 §4: U+07FF, the last 2-byte code point", hex({0xDF, 0xBF}));
    ok("RFC 3629 §4: U+0800, the first 3-byte code point", hex({0xE0, 0xA0, 0x80}));
    ok("RFC 3629 §4: U+D7FF, just below the surrogates", hex({0xED, 0x9F, 0xBF}));
    ok("RFC 3629 §4: U+E000, just above the surrogates", hex({0xEE, 0x80, 0x80}));
    ok("RFC 3629 §4: U+FFFD", hex({0xEF, 0xBF, 0xBD}));
    ok("RFC 3629 §4: U+FFFE and U+FFFF are noncharacters, still valid UTF-8", hex({0xEF, 0xBF, 0xBE, 0xEF, 0xBF, 0xBF}));
    ok("RFC 3629 §4: U+FFFF, the last 3-byte code point", hex({0xEF, 0xBF, 0xBF}));
    ok("RFC 3629 §4: U+10000, the first 4-byte code point", hex({0xF0, 0x90, 0x80, 0x80}));
    ok("RFC 3629 §4: U+10FFFF, the last code point", hex({0xF4, 0x8F, 0xBF, 0xBF}));
    ok("Kuhn 1: Greek \"κόσμε\"", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
    ok("Kuhn: mixed Latin-1, CJK and an emoji", "Gr\xc3\xbc\xc3\x9f" "e \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80!");
    ok("RFC 6455 §8.1: 20 ASCII bytes then U+1F600 across the 16-byte block edge",
       std::string(14, 'a') + "\xf0\x9f\x98\x80" + std::string(20, 'b'));

    bad("RFC 3629 §4: U+110000 (F4 90) is beyond the last code point → fails at byte 1", hex({0xF4, 0x90, 0x80, 0x80}), 1);
    bad("RFC 3629 §4: F4 BF BF BF → fails at byte 1", hex({0xF4, 0xBF, 0xBF, 0xBF}), 1);
    bad("RFC 3629 §4: U+D800, the first surrogate → fails at byte 1", hex({0xED, 0xA0, 0x80}), 1);
    bad("RFC 3629 §4: U+DFFF, the last surrogate → fails at byte 1", hex({0xED, 0xBF, 0xBF}), 1);
    bad("Kuhn 5.2: paired surrogates U+D800 U+DC00 → fails at byte 1", hex({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), 1);
    bad("Kuhn 5.1: lone surrogate after valid text → fails at its second byte", "ok " + hex({0xED, 0xAD, 0xBF}), 4);
    bad("Kuhn 4.1: overlong '/' in 2 bytes (C0 AF) → fails at byte 0", hex({0xC0, 0xAF}), 0);
    bad("Kuhn 4.1: overlong '/' in 3 bytes (E0 80 AF) → fails at byte 1", hex({0xE0, 0x80, 0xAF}), 1);
    bad("Kuhn 4.1: overlong '/' in 4 bytes (F0 80 80 AF) → fails at byte 1", hex({0xF0, 0x80, 0x80, 0xAF}), 1);
    bad("Kuhn 4.1: overlong '/' in 5 bytes (F8 …) → fails at byte 0", hex({0xF8, 0x80, 0x80, 0x80, 0xAF}), 0);
    bad("Kuhn 4.1: overlong '/' in 6 bytes (FC …) → fails at byte 0", hex({0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF}), 0);
    bad("Kuhn 4.2: maximal overlong C1 BF → fails at byte 0", hex({0xC1, 0xBF}), 0);
    bad("Kuhn 4.2: maximal overlong E0 9F BF → fails at byte 1", hex({0xE0, 0x9F, 0xBF}), 1);
    bad("Kuhn 4.2: maximal overlong F0 8F BF BF → fails at byte 1", hex({0xF0, 0x8F, 0xBF, 0xBF}), 1);
    bad("Kuhn 4.3: overlong NUL C0 80 → fails at byte 0", hex({0xC0, 0x80}), 0);
    bad("Kuhn 3.1: a first continuation byte alone → fails at byte 0", hex({0x80}), 0);
    bad("Kuhn 3.1: a last continuation byte after text → fails there", "abc" + hex({0xBF}), 3);
    bad("Kuhn 3.1: three continuation bytes after a complete 2-byte code point", hex({0xC3, 0xA9, 0x80, 0xBF, 0x80}), 2);
    bad("Kuhn 3.2: lonely 2-byte lead followed by a space → fails at the space", hex({0xC2, 0x20}), 1);
    bad("Kuhn 3.2: lonely 3-byte lead followed by a space", hex({0xE1, 0x20}), 1);
    bad("Kuhn 3.2: lonely 4-byte lead followed by a space", hex({0xF1, 0x20}), 1);
    bad("Kuhn 3.3: 3-byte sequence missing its last byte, then ASCII", hex({0xE1, 0x80, 0x41}), 2);
    bad("Kuhn 3.3: 4-byte sequence missing its last byte, then ASCII", hex({0xF1, 0x80, 0x80, 0x41}), 3);
    bad("Kuhn 3.3: 4-byte sequence missing its last byte, then a new lead", hex({0xF1, 0x80, 0x80, 0xC3, 0xA9}), 3);
    bad("Kuhn 3.5: FE is impossible → fails at byte 0", hex({0xFE}), 0);
    bad("Kuhn 3.5: FF is impossible → fails at byte 0", hex({0xFF}), 0);
    bad("Kuhn 3.5: F5 would be beyond U+10FFFF → fails at byte 0", hex({0xF5, 0x80, 0x80, 0x80}), 0);
    bad("RFC 6455 §8.1: one bad byte after 40 ASCII bytes → fails there", std::string(40, 'x') + "\x80" + "yy", 40);
    bad("RFC 6455 §8.1: a valid 17-byte prefix then a surrogate across a block edge",
        std::string(15, 'x') + hex({0xC3, 0xA9, 0xED, 0xA0, 0x80}) + std::string(30, 'z'), 18);

    cut("Kuhn 3.3: a 2-byte code point missing its last byte", hex({0xC3}));
    cut("Kuhn 3.3: a 3-byte code point missing its last byte", hex({0xE0, 0xA0}));
    cut("Kuhn 3.3: a 4-byte code point missing its last byte", hex({0xF0, 0x90, 0x80}));
    cut("Kuhn 3.3: U+10FFFF missing two bytes", "end " + hex({0xF4, 0x8F}));
}

void TestUtf8::sequences()
{
    QFETCH(std::string, input);
    QFETCH(int, firstInvalid);
    QFETCH(bool, complete);

    bool refComplete = false;
    QCOMPARE(referenceFirstInvalid(input, refComplete), firstInvalid);   // the table agrees with the reference
    QCOMPARE(refComplete, complete);
    checkAllChunkings(input, firstInvalid, complete);
}

// The ASCII fast path must not skip over anything: one bad byte (or a good multibyte code point) at
// each position of a 100-byte ASCII text.
void TestUtf8::invalidByteAtEveryPositionOfLongText()
{
    for (int pos = 0; pos < 100; ++pos) {
        for (const std::string &insert : {hex({0x80}), hex({0xC0, 0x80}), hex({0xFF}), hex({0xED, 0xA0, 0x80})}) {
            std::string s(100, 'a');
            s.replace(std::size_t(pos), insert.size(), insert);
            bool complete = false;
            const int at = referenceFirstInvalid(s, complete);
            QVERIFY(at >= pos);
            checkAllChunkings(s, at, false);
        }
        std::string s(100, 'a');
        s.replace(std::size_t(pos), 3, "\xe2\x82\xac");   // U+20AC, the euro sign
        s.resize(100);
        bool complete = false;
        const int at = referenceFirstInvalid(s, complete);
        checkAllChunkings(s, at, complete);
    }
}

// isValidUtf8() takes short all-ASCII texts in one pass of 16-, 8- and 1-byte steps: every length up to
// 300 (past that pass's 256-byte limit), a byte with the top bit set at every position, and valid
// multi-byte text at every position.
void TestUtf8::shortTextsEveryLengthAndPosition()
{
    for (std::size_t n = 0; n <= 300; ++n) {
        const std::string ascii(n, 'a');
        QVERIFY(isValidUtf8(ascii));
        for (std::size_t pos = 0; pos < n; ++pos) {
            std::string bad = ascii;
            bad[pos] = char(0x80);
            QVERIFY2(!isValidUtf8(bad), qPrintable(QStringLiteral("0x80 at %1 of %2").arg(pos).arg(n)));
            bad[pos] = char(0xFF);
            QVERIFY2(!isValidUtf8(bad), qPrintable(QStringLiteral("0xFF at %1 of %2").arg(pos).arg(n)));
            if (pos + 2 <= n) {
                std::string good = ascii;
                good.replace(pos, 2, "\xc3\xa9");   // U+00E9
                QVERIFY2(isValidUtf8(good), qPrintable(QStringLiteral("U+00E9 at %1 of %2").arg(pos).arg(n)));
            }
        }
    }
}

// Every 2-byte input, every 3-byte input with a 3/4-byte lead, and 4-byte inputs with boundary tails,
// fed whole and 1 byte at a time, against the reference.
void TestUtf8::exhaustiveShortSequences()
{
    // Returns a description of the first disagreement, or an empty string.
    const auto check = [](const std::string &s) -> QString {
        bool complete = false;
        const int want = referenceFirstInvalid(s, complete);
        Utf8Validator whole;
        const bool ok = whole.write(s);
        Utf8Validator bytewise;
        int got = -1;
        for (std::size_t i = 0; i < s.size() && got < 0; ++i) {
            if (!bytewise.write(std::string_view(s).substr(i, 1)))
                got = int(i);
        }
        if (ok == (want < 0) && got == want && whole.finish() == (want < 0 && complete))
            return {};
        QString h;
        for (char c : s)
            h += QString::asprintf("%02X ", unsigned(std::uint8_t(c)));
        return QStringLiteral("input %1: failed at %2, reference %3").arg(h).arg(got).arg(want);
    };
    QString problem;
    int checked = 0;
    for (int a = 0; a < 256 && problem.isEmpty(); ++a)
        for (int b = 0; b < 256 && problem.isEmpty(); ++b, ++checked)
            problem = check(hex({a, b}));
    for (int a = 0xE0; a <= 0xF4 && problem.isEmpty(); ++a)
        for (int b = 0; b < 256 && problem.isEmpty(); ++b)
            for (int c = 0; c < 256 && problem.isEmpty(); ++c, ++checked)
                problem = check(hex({a, b, c}));
    const int edges[] = {0x7F, 0x80, 0xBF, 0xC0};
    for (int a = 0xF0; a <= 0xF4 && problem.isEmpty(); ++a)
        for (int b = 0; b < 256 && problem.isEmpty(); ++b)
            for (int c : edges)
                for (int d : edges)
                    if (problem.isEmpty() && ++checked)
                        problem = check(hex({a, b, c, d}));
    if (!problem.isEmpty())
        QFAIL(qPrintable(problem));
    QCOMPARE(checked, 65536 + 21 * 65536 + 5 * 256 * 16);
}

// Random mixtures of valid code points, ASCII runs and random bytes, in random pieces.
void TestUtf8::randomAgainstReference()
{
    std::mt19937 rng(3629);
    const std::string atoms[] = {"a", "The quick brown fox ", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
                                 "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80"};
    int invalid = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string s;
        const int parts = 1 + int(rng() % 30);
        for (int p = 0; p < parts; ++p)
            s += atoms[rng() % std::size(atoms)];
        if (round % 2) {   // corrupt one byte
            s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
        }
        if (round % 5 == 0)
            s.resize(rng() % (s.size() + 1));   // maybe cut a code point
        bool complete = false;
        const int want = referenceFirstInvalid(s, complete);
        invalid += want >= 0;
        Utf8Validator v;
        int got = -1;
        std::size_t at = 0;
        while (at < s.size()) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 40, s.size() - at);
            if (!v.write(std::string_view(s).substr(at, n)) && got < 0) {
                got = int(at);   // the piece's start; the first invalid byte must be inside the piece
                QVERIFY(want >= int(at) && want < int(at + n));
            }
            at += n;
        }
        QCOMPARE(got >= 0, want >= 0);
        QCOMPARE(v.finish(), want < 0 && complete);
    }
    QVERIFY(invalid > 300);   // the corruption does produce invalid inputs
}

// Pieces of 512 bytes and more are validated as two halves cut at a code point boundary near the
// middle: corrupt every byte around the middle, and cut the text at every length, in one piece.
void TestUtf8::longPiecesAgainstReference()
{
    std::mt19937 rng(6455);
    const std::string atoms[] = {"ab", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", " ", "\xed\x9f\xbf"};
    std::string text;
    while (text.size() < 1200)
        text += atoms[rng() % std::size(atoms)];
    const char *bad[] = {"\x80", "\xbf\xbf\xbf\xbf", "\xc0", "\xed\xa0", "\xf4\x90", "\xe4\xb8", "\xf0\x9f\x98", "A"};
    int invalid = 0;
    for (std::size_t len : {std::size_t(512), std::size_t(777), std::size_t(1200)}) {
        for (std::size_t pos = len / 2 - 12; pos < len / 2 + 12; ++pos) {
            for (const char *b : bad) {
                std::string s = text.substr(0, len);
                s.replace(pos, std::strlen(b), b);
                bool complete = false;
                const int want = referenceFirstInvalid(s, complete);
                invalid += want >= 0;
                Utf8Validator v;
                if (v.write(s) != (want < 0) || v.finish() != (want < 0 && complete))
                    QFAIL(qPrintable(QStringLiteral("length %1, \"%2\" at %3: reference says %4")
                                         .arg(len).arg(QByteArray(b).toHex()).arg(pos).arg(want)));
            }
        }
    }
    QVERIFY(invalid > 300);
    for (std::size_t len = 500; len <= 700; ++len) {
        const std::string s = text.substr(0, len);
        bool complete = false;
        QCOMPARE(referenceFirstInvalid(s, complete), -1);
        Utf8Validator v;
        QVERIFY(v.write(s));
        QCOMPARE(v.finish(), complete);
    }
}

void TestUtf8::resetAndEmptyPieces()
{
    Utf8Validator v;
    QVERIFY(v.write(std::string_view()));
    QVERIFY(v.finish());
    QVERIFY(v.write(hex({0xE2, 0x82})));
    QVERIFY(v.write(std::string_view()));   // an empty piece mid-code-point changes nothing
    QVERIFY(!v.finish());
    QVERIFY(v.write(hex({0xAC})));
    QVERIFY(v.finish());
    QVERIFY(!v.write(hex({0xC0})));
    QVERIFY(v.failed());
    QVERIFY(!v.write("plain ASCII"));   // stays failed
    QVERIFY(!v.finish());
    v.reset();
    QVERIFY(!v.failed());
    QVERIFY(v.write("plain ASCII"));
    QVERIFY(v.finish());
    QVERIFY(isValidUtf8(std::span<const std::byte>()));
    QVERIFY(!isValidUtf8(qws::test::bytes("\xe2\x82")));
}

QTEST_APPLESS_MAIN(TestUtf8)
#include "tst_utf8.moc"
