// SPDX-License-Identifier: BSD-3-Clause
// MessageAssembler: RFC 6455 §5.4 fragmentation, §5.5 control frames, §8.1 UTF-8, limits, RFC 7692.
#include "protocol/deflate.h"
#include "protocol/message.h"

#include "chunks.h"
#include "deflatehelpers.h"
#include "eventtext.h"
#include "framebuilder.h"

#include <algorithm>
#include <QTest>

#include <memory>

#include <sys/resource.h>

using namespace qws::protocol;
using namespace qws::test;

namespace {

struct Setup {
    MessageLimits limits;
    bool deflate = false;
};

QByteArray qba(const std::string &s) { return QByteArray(s.data(), qsizetype(s.size())); }
std::string_view view(const QByteArray &b) { return {b.constData(), std::size_t(b.size())}; }

/// Compresses `message` as a client would for permessage-deflate (no 00 00 FF FF tail).
std::string deflated(std::string_view message)
{
    Deflater d(15, false, 6);
    return deflateOne(d, message);
}

std::string compressedFrame(std::string_view compressed, std::uint8_t opcode = 0x1, bool fin = true)
{
    return makeFrame(compressed, {.opcode = opcode, .fin = fin, .rsv1 = true});
}

std::string repeat(std::string_view unit, std::size_t n)
{
    std::string s;
    s.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        s.append(unit);
    return s;
}

std::string pseudoRandom(std::size_t n, std::uint32_t seed = 1)
{
    std::string s(n, '\0');
    for (auto &c : s) {
        seed = seed * 1103515245u + 12345u;
        c = char(seed >> 16);
    }
    return s;
}

/// RFC 1951 §3.2.6 by hand: one fixed-Huffman block of a zero byte followed by `matches` copies of
/// (length 258, distance 1): 13 bits that expand to 258 bytes. It ends with the bits of an empty
/// stored block, as a sync flush leaves them once RFC 7692 §7.2.1 strips 00 00 FF FF.
std::string handmadeBomb(std::size_t matches)
{
    std::string out;
    std::uint32_t acc = 0;
    int used = 0;
    auto bits = [&](std::uint32_t value, int count) {   // LSB first, as DEFLATE packs header fields
        for (int i = 0; i < count; ++i) {
            acc |= ((value >> i) & 1u) << used;
            if (++used == 8) {
                out.push_back(char(acc));
                acc = 0;
                used = 0;
            }
        }
    };
    auto code = [&](std::uint32_t value, int count) {   // Huffman codes go MSB first
        for (int i = count - 1; i >= 0; --i)
            bits((value >> i) & 1u, 1);
    };
    bits(0, 1);              // BFINAL = 0
    bits(1, 2);              // BTYPE = 01, fixed Huffman
    code(0x30, 8);           // literal 0
    for (std::size_t i = 0; i < matches; ++i) {
        code(0xC5, 8);       // length code 285 = 258
        code(0, 5);          // distance code 0 = 1
    }
    code(0, 7);              // end of block (256)
    bits(0, 3);              // empty stored block header; LEN/NLEN come from the stripped tail
    if (used)
        out.push_back(char(acc));
    return out;
}

long peakRssKiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/// Feeds one chunking and returns the events. Checks the consumption contract on the way: every
/// chunk is consumed whole until a Failure, and nothing is consumed after it.
QStringList run(const Chunking &chunking, const Setup &setup)
{
    std::unique_ptr<Inflater> inflater;
    MessageAssembler assembler(setup.limits);
    if (setup.deflate) {
        inflater = std::make_unique<Inflater>(15, false);
        assembler.setInflater(inflater.get());
    }
    std::vector<Event> events;
    // After a failure, or after a close (RFC 6455 §5.5.1), the assembler consumes nothing more.
    auto stopped = [&] {
        return assembler.error() != Error::None
                || std::any_of(events.begin(), events.end(), [](const Event &e) { return std::holds_alternative<Close>(e); });
    };
    for (std::string_view chunk : chunking.chunks) {
        const bool stoppedBefore = stopped();
        const std::size_t consumed = assembler.feed(bytes(chunk), events);
        if (stoppedBefore) {
            if (consumed != 0)
                return {QStringLiteral("consumed %1 bytes after failing or closing").arg(consumed)};
        } else if (!stopped() && consumed != chunk.size()) {
            return {QStringLiteral("consumed %1 of %2 bytes").arg(consumed).arg(chunk.size())};
        }
    }
    return eventTexts(events);
}

/// Runs `wire` whole, at (up to 512) split points and 1 byte at a time; all must give `expected`.
void checkAllChunkings(const QByteArray &wire, const QStringList &expected, const Setup &setup)
{
    for (const Chunking &chunking : allChunkings(view(wire), 512)) {
        const QStringList got = run(chunking, setup);
        if (got != expected) {
            qWarning("chunking: %s", chunking.name.c_str());
            QCOMPARE(got, expected);
        }
    }
}

QString textEvent(std::string_view s, bool compressed = false)
{
    return QStringLiteral("text(%1): %2%3").arg(s.size()).arg(payloadText(s),
                                                               compressed ? QStringLiteral(" [deflate]") : QString());
}
QString binaryEvent(std::string_view s, bool compressed = false)
{
    return QStringLiteral("binary(%1): %2%3").arg(s.size()).arg(payloadText(s),
                                                                 compressed ? QStringLiteral(" [deflate]") : QString());
}
QString failure(const char *name, int code) { return QStringLiteral("failure %1 %2").arg(QLatin1String(name)).arg(code); }

} // namespace

class tst_Message : public QObject
{
    Q_OBJECT

private slots:
    void zipBombIsNeverExpanded();   // first: it measures the process's peak memory
    void streams_data();
    void streams();
    void closePayloads_data();
    void closePayloads();
    void limits_data();
    void limits();
    void fragments_data();
    void fragments();
    void compressed_data();
    void compressed();

    void failsFastOnAnnouncedSize_data();
    void failsFastOnAnnouncedSize();
    void failsFastOnInvalidUtf8MidFrame();
    void atRestOnlyBetweenMessages();
    void payloadIsHandedOutWithoutSlack();
    void smallMessagesWholeOrSplit_data();
    void smallMessagesWholeOrSplit();
};

void tst_Message::zipBombIsNeverExpanded()
{
    // RFC 7692 §8.1: 1.6 MB on the wire that would inflate to 256 MiB. With a 1 MiB limit the
    // assembler must stop at the limit: the process's peak memory may not grow by anything near it.
    const std::size_t matches = (256u << 20) / 258;
    const std::string bomb = handmadeBomb(matches);
    {
        // The construction is right: a small one inflates to exactly 1 + 258 * n zero bytes.
        Inflater check(15, false);
        std::string small;
        QCOMPARE(check.inflate(bytes(handmadeBomb(1000)), true, small, 1 << 20), Error::None);
        QCOMPARE(small, std::string(1 + 258 * 1000, '\0'));
    }
    const std::string frame = compressedFrame(bomb, 0x2);
    const long before = peakRssKiB();
    Inflater inflater(15, false);
    MessageLimits limits;
    limits.maxMessageSize = 1 << 20;
    MessageAssembler assembler(limits);
    assembler.setInflater(&inflater);
    std::vector<Event> events;
    assembler.feed(bytes(frame), events);
    QCOMPARE(eventTexts(events), QStringList{failure("MessageTooBig", 1009)});
    const long grownKiB = peakRssKiB() - before;
    QVERIFY2(grownKiB < 48 * 1024, qPrintable(QStringLiteral("peak memory grew by %1 KiB").arg(grownKiB)));
}

void tst_Message::streams_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QStringList>("expected");

    const std::string all = [] { std::string s; for (int i = 0; i < 256; ++i) s.push_back(char(i)); return s; }();
    const std::string mid = pseudoRandom(200);
    const std::string big = pseudoRandom(70000, 7);
    const std::string p125(125, 'p');

    QTest::newRow("RFC 6455 §5.7: the sample masked \"Hello\"")
        << QByteArray("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) << QStringList{textEvent("Hello")};
    QTest::newRow("RFC 6455 §5.6: an empty text message")
        << qba(textFrame("")) << QStringList{textEvent("")};
    QTest::newRow("RFC 6455 §5.6: binary carries every byte value")
        << qba(binaryFrame(all)) << QStringList{binaryEvent(all)};
    QTest::newRow("RFC 6455 §5.2: a 16-bit length") << qba(binaryFrame(mid)) << QStringList{binaryEvent(mid)};
    QTest::newRow("RFC 6455 §5.2: a 64-bit length") << qba(binaryFrame(big)) << QStringList{binaryEvent(big)};
    QTest::newRow("RFC 6455 §5.4: two messages back to back")
        << qba(textFrame("one") + binaryFrame("two")) << QStringList{textEvent("one"), binaryEvent("two")};
    QTest::newRow("RFC 6455 §5.4: three fragments make one message")
        << qba(textFrame("Hel", false) + continuationFrame("lo ", false) + continuationFrame("world", true))
        << QStringList{textEvent("Hello world")};
    QTest::newRow("RFC 6455 §5.4: empty fragments are allowed")
        << qba(binaryFrame("", false) + continuationFrame("", false) + continuationFrame("x", true))
        << QStringList{binaryEvent("x")};
    QTest::newRow("RFC 6455 §5.4: a ping between fragments is delivered first")
        << qba(textFrame("Hel", false) + pingFrame("p1") + continuationFrame("lo", true))
        << QStringList{QStringLiteral("ping: p1"), textEvent("Hello")};
    QTest::newRow("RFC 6455 §5.5: pings and pongs interleaved in a large fragmented message")
        << qba(binaryFrame(big.substr(0, 30000), false) + pingFrame(p125) + continuationFrame(big.substr(30000, 100), false)
               + pongFrame() + pingFrame() + continuationFrame(big.substr(30100), true))
        << QStringList{QStringLiteral("ping: ") + payloadText(p125), QStringLiteral("pong: "), QStringLiteral("ping: "),
                       binaryEvent(big)};
    QTest::newRow("RFC 6455 §5.5.2: a 125-byte ping")
        << qba(pingFrame(p125)) << QStringList{QStringLiteral("ping: ") + payloadText(p125)};
    QTest::newRow("RFC 6455 §5.5.3: an unsolicited pong")
        << qba(pongFrame("pong")) << QStringList{QStringLiteral("pong: pong")};
    QTest::newRow("RFC 6455 §5.5.1: a close frame between fragments")
        << qba(textFrame("a", false) + closeFrame(1000, "bye"))
        << QStringList{QStringLiteral("close 1000: bye")};

    QTest::newRow("RFC 6455 §5.4: continuation without a message → 1002")
        << qba(continuationFrame("x", true)) << QStringList{failure("UnexpectedContinuation", 1002)};
    QTest::newRow("RFC 6455 §5.4: continuation after a finished message → 1002")
        << qba(textFrame("done") + continuationFrame("x", true))
        << QStringList{textEvent("done"), failure("UnexpectedContinuation", 1002)};
    QTest::newRow("RFC 6455 §5.4: a new text frame inside a fragmented message → 1002")
        << qba(textFrame("a", false) + textFrame("b")) << QStringList{failure("ExpectedContinuation", 1002)};
    QTest::newRow("RFC 6455 §5.4: a new binary frame inside a fragmented text message → 1002")
        << qba(textFrame("a", false) + pingFrame() + binaryFrame("b", false))
        << QStringList{QStringLiteral("ping: "), failure("ExpectedContinuation", 1002)};
    QTest::newRow("RFC 6455 §5.1: an unmasked client frame → 1002")
        << qba(makeFrame("hi", {.masked = false})) << QStringList{failure("UnmaskedFrame", 1002)};
    QTest::newRow("RFC 6455 §5.2: RSV1 without a negotiated extension → 1002")
        << qba(makeFrame("hi", {.rsv1 = true})) << QStringList{failure("ReservedBits", 1002)};
    QTest::newRow("RFC 6455 §5.2: RSV2 → 1002") << qba(makeFrame("hi", {.rsv2 = true}))
                                                << QStringList{failure("ReservedBits", 1002)};
    QTest::newRow("RFC 6455 §5.2: RSV3 → 1002") << qba(makeFrame("hi", {.rsv3 = true}))
                                                << QStringList{failure("ReservedBits", 1002)};
    QTest::newRow("RFC 6455 §5.2: reserved data opcode 3 → 1002")
        << qba(makeFrame("hi", {.opcode = 0x3})) << QStringList{failure("UnknownOpcode", 1002)};
    QTest::newRow("RFC 6455 §5.2: reserved control opcode 0xB → 1002")
        << qba(makeFrame("", {.opcode = 0xB})) << QStringList{failure("UnknownOpcode", 1002)};
    QTest::newRow("RFC 6455 §5.2: non-minimal 16-bit length → 1002")
        << qba(makeFrame("short", {.lengthForm = 16})) << QStringList{failure("NonMinimalLength", 1002)};
    QTest::newRow("RFC 6455 §5.2: non-minimal 64-bit length → 1002")
        << qba(makeFrame(mid, {.opcode = 0x2, .lengthForm = 64})) << QStringList{failure("NonMinimalLength", 1002)};
    QTest::newRow("RFC 6455 §5.2: 64-bit length with the top bit set → 1002")
        << qba(makeFrame("", {.opcode = 0x2, .lengthForm = 64, .lengthOverride = UINT64_C(1) << 63}))
        << QStringList{failure("LengthTooLarge", 1002)};
    QTest::newRow("RFC 6455 §5.5: a 126-byte ping → 1002")
        << qba(pingFrame(std::string(126, 'p'))) << QStringList{failure("ControlFrameTooLong", 1002)};
    QTest::newRow("RFC 6455 §5.5: a fragmented ping → 1002")
        << qba(makeFrame("p", {.opcode = 0x9, .fin = false})) << QStringList{failure("FragmentedControlFrame", 1002)};
    QTest::newRow("RFC 6455 §7.1.7: events before a violation are kept, input after it is not read")
        << qba(textFrame("kept") + makeFrame("x", {.masked = false}) + textFrame("never"))
        << QStringList{textEvent("kept"), failure("UnmaskedFrame", 1002)};

    QTest::newRow("RFC 6455 §8.1: invalid UTF-8 in a single frame → 1007")
        << qba(textFrame("ab\xff" "cd")) << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 3629: a surrogate (ED A0 80) → 1007")
        << qba(textFrame("\xed\xa0\x80")) << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 3629: an overlong '/' (C0 AF) → 1007")
        << qba(textFrame("\xc0\xaf")) << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 6455 §8.1: a code point split across fragments is fine")
        << qba(textFrame("price: \xe2", false) + continuationFrame("\x82", false) + continuationFrame("\xac", true))
        << QStringList{textEvent("price: \xe2\x82\xac")};
    QTest::newRow("RFC 6455 §8.1: invalid UTF-8 in a middle fragment → 1007 before the message ends")
        << qba(textFrame("ok", false) + continuationFrame("b\xc3(d", false) + pingFrame("late"))
        << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 6455 §8.1: a message ending inside a code point → 1007")
        << qba(textFrame("a\xe2\x82", false) + continuationFrame("", true)) << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 6455 §5.6: binary is not UTF-8 checked")
        << qba(binaryFrame("\xff\xfe")) << QStringList{binaryEvent("\xff\xfe")};
}

void tst_Message::streams()
{
    QFETCH(QByteArray, wire);
    QFETCH(QStringList, expected);
    checkAllChunkings(wire, expected, {});
}

void tst_Message::closePayloads_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QStringList>("expected");
    auto closeRaw = [](std::string_view payload) { return qba(makeFrame(payload, {.opcode = 0x8})); };

    QTest::newRow("RFC 6455 §5.5.1: an empty close means 1005")
        << closeRaw("") << QStringList{QStringLiteral("close 1005: ")};
    QTest::newRow("RFC 6455 §5.5.1: code and reason") << qba(closeFrame(1000, "bye"))
                                                      << QStringList{QStringLiteral("close 1000: bye")};
    QTest::newRow("RFC 6455 §5.5.1: nothing after the close frame is read (a message, a ping, a bad frame)")
        << qba(closeFrame(1000, "bye") + textFrame("after") + pingFrame("p") + std::string("\xff\xff"))
        << QStringList{QStringLiteral("close 1000: bye")};
    QTest::newRow("RFC 6455 §7.4.2: 3000 (registered) is allowed") << qba(closeFrame(3000))
                                                                   << QStringList{QStringLiteral("close 3000: ")};
    QTest::newRow("RFC 6455 §7.4.2: 4999 (private) is allowed") << qba(closeFrame(4999))
                                                                << QStringList{QStringLiteral("close 4999: ")};
    const std::string reason123(123, 'r');
    QTest::newRow("RFC 6455 §5.5: a 123-byte reason fills the 125-byte payload")
        << qba(closeFrame(1001, reason123)) << QStringList{QStringLiteral("close 1001: ") + payloadText(reason123)};
    QTest::newRow("RFC 6455 §5.5.1: a one-byte close payload → 1002")
        << closeRaw("\x03") << QStringList{failure("CloseTooShort", 1002)};
    QTest::newRow("RFC 6455 §7.4.2: code 999 → 1002") << qba(closeFrame(999))
                                                      << QStringList{failure("InvalidCloseCode", 1002)};
    QTest::newRow("RFC 6455 §7.4.1: 1005 must not be on the wire → 1002")
        << qba(closeFrame(1005)) << QStringList{failure("InvalidCloseCode", 1002)};
    QTest::newRow("RFC 6455 §7.4.1: 1006 must not be on the wire → 1002")
        << qba(closeFrame(1006)) << QStringList{failure("InvalidCloseCode", 1002)};
    QTest::newRow("RFC 6455 §7.4.2: 5000 → 1002") << qba(closeFrame(5000))
                                                  << QStringList{failure("InvalidCloseCode", 1002)};
    QTest::newRow("RFC 6455 §5.5.1: a reason that is not UTF-8 → 1007")
        << qba(closeFrame(1000, "\xff")) << QStringList{failure("InvalidCloseReason", 1007)};
    QTest::newRow("RFC 6455 §5.5: a fragmented close → 1002")
        << qba(makeFrame("\x03\xe8", {.opcode = 0x8, .fin = false})) << QStringList{failure("FragmentedControlFrame", 1002)};
}

void tst_Message::closePayloads()
{
    QFETCH(QByteArray, wire);
    QFETCH(QStringList, expected);
    checkAllChunkings(wire, expected, {});
}

void tst_Message::limits_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<qulonglong>("maxFrame");
    QTest::addColumn<qulonglong>("maxMessage");
    QTest::addColumn<QStringList>("expected");
    const std::string k1 = pseudoRandom(1000, 3);

    QTest::newRow("a frame of exactly the frame limit is accepted")
        << qba(binaryFrame(k1)) << 1000ull << 5000ull << QStringList{binaryEvent(k1)};
    QTest::newRow("RFC 6455 §7.4.1: a frame one byte over the limit → 1009")
        << qba(binaryFrame(k1 + "x")) << 1000ull << 5000ull << QStringList{failure("FrameTooBig", 1009)};
    QTest::newRow("a message of exactly the message limit over three frames is accepted")
        << qba(binaryFrame(k1, false) + continuationFrame(k1, false) + continuationFrame(k1, true))
        << 1000ull << 3000ull << QStringList{binaryEvent(k1 + k1 + k1)};
    QTest::newRow("RFC 6455 §7.4.1: a message one byte over the limit → 1009")
        << qba(binaryFrame(k1, false) + continuationFrame(k1, false) + continuationFrame(k1 + "x", true))
        << 1001ull << 3000ull << QStringList{failure("MessageTooBig", 1009)};
    QTest::newRow("a single frame over the message limit → 1009")
        << qba(textFrame(std::string(101, 'a'))) << 1000ull << 100ull << QStringList{failure("MessageTooBig", 1009)};
    QTest::newRow("control frames do not count towards the message size")
        << qba(binaryFrame(k1, false) + pingFrame(std::string(125, 'p')) + continuationFrame("", true))
        << 1000ull << 1000ull << QStringList{QStringLiteral("ping: ") + payloadText(std::string(125, 'p')), binaryEvent(k1)};
    QTest::newRow("the message size starts again with each message")
        << qba(binaryFrame(k1) + binaryFrame(k1)) << 1000ull << 1000ull << QStringList{binaryEvent(k1), binaryEvent(k1)};
}

void tst_Message::limits()
{
    QFETCH(QByteArray, wire);
    QFETCH(qulonglong, maxFrame);
    QFETCH(qulonglong, maxMessage);
    QFETCH(QStringList, expected);
    Setup setup;
    setup.limits.maxFrameSize = maxFrame;
    setup.limits.maxMessageSize = maxMessage;
    checkAllChunkings(wire, expected, setup);
}

void tst_Message::fragments_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QStringList>("expected");

    QTest::newRow("a single frame is one first-and-last fragment")
        << qba(textFrame("Hello")) << QStringList{QStringLiteral("fragment text first last(5): Hello")};
    QTest::newRow("RFC 6455 §5.4: continuations carry the message's opcode")
        << qba(binaryFrame("ab", false) + continuationFrame("", false) + continuationFrame("cd", true))
        << QStringList{QStringLiteral("fragment binary first(2): ab"), QStringLiteral("fragment binary(0): "),
                       QStringLiteral("fragment binary last(2): cd")};
    QTest::newRow("RFC 6455 §5.5: control frames between fragments keep their order")
        << qba(textFrame("a", false) + pingFrame("p") + continuationFrame("b", true) + textFrame("c"))
        << QStringList{QStringLiteral("fragment text first(1): a"), QStringLiteral("ping: p"),
                       QStringLiteral("fragment text last(1): b"), QStringLiteral("fragment text first last(1): c")};
    QTest::newRow("RFC 6455 §8.1: a fragment may end inside a code point the next completes")
        << qba(textFrame("\xe2\x82", false) + continuationFrame("\xac", true))
        << QStringList{QStringLiteral("fragment text first(2): \\xe2\\x82"), QStringLiteral("fragment text last(1): \\xac")};
    QTest::newRow("RFC 6455 §8.1: invalid UTF-8 fails before the bad fragment is delivered → 1007")
        << qba(textFrame("ok", false) + continuationFrame("\xff", false) + continuationFrame("x", true))
        << QStringList{QStringLiteral("fragment text first(2): ok"), failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 6455 §8.1: the last fragment may not leave a code point open → 1007")
        << qba(textFrame("a", false) + continuationFrame("\xe2\x82", true))
        << QStringList{QStringLiteral("fragment text first(1): a"), failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 6455 §5.4: sequencing rules still apply → 1002")
        << qba(binaryFrame("a", false) + binaryFrame("b"))
        << QStringList{QStringLiteral("fragment binary first(1): a"), failure("ExpectedContinuation", 1002)};
}

void tst_Message::fragments()
{
    QFETCH(QByteArray, wire);
    QFETCH(QStringList, expected);
    Setup setup;
    setup.limits.deliverFragments = true;
    checkAllChunkings(wire, expected, setup);
}

void tst_Message::compressed_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<bool>("fragmentMode");
    QTest::addColumn<qulonglong>("maxMessage");
    QTest::addColumn<QStringList>("expected");
    const qulonglong mb = 1024 * 1024;

    // RFC 7692 §7.2.3.1–§7.2.3.3 give these exact bytes for "Hello".
    const std::string helloDeflated("\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    QTest::newRow("RFC 7692 §7.2.3.1: the sample compressed \"Hello\"")
        << qba(compressedFrame(helloDeflated)) << false << mb << QStringList{textEvent("Hello", true)};
    QTest::newRow("RFC 7692 §7.2.3.1: the sample split over two frames, RSV1 on the first only")
        << qba(compressedFrame(helloDeflated.substr(0, 3), 0x1, false) + continuationFrame(helloDeflated.substr(3), true))
        << false << mb << QStringList{textEvent("Hello", true)};
    QTest::newRow("RFC 7692 §7.2.3.2: the second \"Hello\" refers back into the shared window")
        << qba(compressedFrame(helloDeflated) + compressedFrame(std::string("\xf2\x00\x11\x00\x00", 5)))
        << false << mb << QStringList{textEvent("Hello", true), textEvent("Hello", true)};
    QTest::newRow("RFC 7692 §7.2.3.3: a stored (uncompressed) DEFLATE block")
        << qba(compressedFrame(std::string("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11)))
        << false << mb << QStringList{textEvent("Hello", true)};
    QTest::newRow("RFC 7692 §6: RSV1 clear means an uncompressed message, even when negotiated")
        << qba(textFrame("plain")) << false << mb << QStringList{textEvent("plain")};

    const std::string big = repeat("The quick brown fox jumps over the lazy dog. ", 4000) + pseudoRandom(5000, 9);
    const std::string bigDeflated = deflated(big);
    const std::size_t third = bigDeflated.size() / 3;
    QTest::newRow("RFC 7692 §7.2.2: a large message compressed over three frames with a ping between")
        << qba(compressedFrame(bigDeflated.substr(0, third), 0x2, false) + pingFrame("p")
               + continuationFrame(bigDeflated.substr(third, third), false) + continuationFrame(bigDeflated.substr(2 * third), true))
        << false << mb << QStringList{QStringLiteral("ping: p"), binaryEvent(big, true)};
    {
        Deflater context(15, false, 6);
        const std::string first = deflateOne(context, "repeated payload, repeated payload");
        const std::string second = deflateOne(context, "repeated payload, repeated payload");
        QTest::newRow("RFC 7692 §7.2.3.2: Deflater output with context takeover over two messages")
            << qba(compressedFrame(first) + compressedFrame(second)) << false << mb
            << QStringList{textEvent("repeated payload, repeated payload", true),
                           textEvent("repeated payload, repeated payload", true)};
    }
    QTest::newRow("RFC 7692 §7.2.1: an empty compressed message")
        << qba(compressedFrame(deflated(""))) << false << mb << QStringList{textEvent("", true)};
    QTest::newRow("deliverFragments: each compressed frame is delivered inflated")
        << qba(compressedFrame(helloDeflated.substr(0, 3), 0x1, false) + continuationFrame(helloDeflated.substr(3), true))
        << true << mb
        << QStringList{QStringLiteral("fragment text first(%1): %2").arg(2).arg(QStringLiteral("He")),
                       QStringLiteral("fragment text last(3): llo")};

    QTest::newRow("RFC 7692 §6.1: RSV1 on a continuation frame → 1002")
        << qba(compressedFrame(helloDeflated.substr(0, 3), 0x1, false) + compressedFrame(helloDeflated.substr(3), 0x0, true))
        << false << mb << QStringList{failure("CompressedContinuation", 1002)};
    QTest::newRow("RFC 7692 §6: RSV1 on a ping → 1002")
        << qba(makeFrame("", {.opcode = 0x9, .rsv1 = true})) << false << mb
        << QStringList{failure("CompressedControlFrame", 1002)};
    QTest::newRow("RFC 6455 §8.1: compressed text that inflates to invalid UTF-8 → 1007")
        << qba(compressedFrame(deflated("valid, then \xff"))) << false << mb << QStringList{failure("InvalidUtf8", 1007)};
    QTest::newRow("RFC 7692 §8.2.2: corrupt DEFLATE data (reserved block type) → 1007")
        << qba(compressedFrame(std::string("\xff\xff\xff", 3))) << false << mb << QStringList{failure("InflateFailed", 1007)};
    const qulonglong limit = 64 * 1024;
    const std::string zeros(32 * limit, '\0');
    QTest::newRow("RFC 7692 §8.1: a zip bomb stops at the message limit → 1009")
        << qba(compressedFrame(deflated(zeros), 0x2)) << false << limit << QStringList{failure("MessageTooBig", 1009)};
    QTest::newRow("RFC 7692 §8.1: a compressed message of exactly the limit is accepted")
        << qba(compressedFrame(deflated(zeros.substr(0, limit)), 0x2)) << false << limit
        << QStringList{binaryEvent(zeros.substr(0, limit), true)};
    const std::string twice = deflated(zeros.substr(0, 2 * limit));
    QTest::newRow("RFC 7692 §8.1: the limit spans the frames of a compressed message → 1009")
        << qba(compressedFrame(twice.substr(0, twice.size() / 2), 0x2, false)
               + continuationFrame(twice.substr(twice.size() / 2), true))
        << false << limit << QStringList{failure("MessageTooBig", 1009)};
}

void tst_Message::compressed()
{
    QFETCH(QByteArray, wire);
    QFETCH(bool, fragmentMode);
    QFETCH(qulonglong, maxMessage);
    QFETCH(QStringList, expected);
    Setup setup;
    setup.deflate = true;
    setup.limits.deliverFragments = fragmentMode;
    setup.limits.maxMessageSize = maxMessage;
    checkAllChunkings(wire, expected, setup);
}

// The limits are enforced on the header: a peer announcing too much is refused before it sends it.
void tst_Message::failsFastOnAnnouncedSize_data()
{
    QTest::addColumn<QByteArray>("before");   // complete frames fed first
    QTest::addColumn<QByteArray>("header");   // then only this header, no payload
    QTest::addColumn<QString>("expected");
    const std::string k(600, 'k');
    auto headerOf = [](const std::string &frame, std::size_t payload) {
        return qba(frame.substr(0, frame.size() - payload));
    };
    QTest::newRow("RFC 6455 §7.4.1: a frame over maxFrameSize → 1009 on its header")
        << QByteArray() << headerOf(binaryFrame(std::string(1500, 'x')), 1500) << failure("FrameTooBig", 1009);
    QTest::newRow("RFC 6455 §7.4.1: a single frame over maxMessageSize → 1009 on its header")
        << QByteArray() << headerOf(textFrame(std::string(1100, 'x')), 1100) << failure("MessageTooBig", 1009);
    QTest::newRow("RFC 6455 §7.4.1: a continuation taking the message over → 1009 on its header")
        << qba(binaryFrame(k, false)) << headerOf(continuationFrame(k, true), k.size()) << failure("MessageTooBig", 1009);
}

void tst_Message::failsFastOnAnnouncedSize()
{
    QFETCH(QByteArray, before);
    QFETCH(QByteArray, header);
    QFETCH(QString, expected);
    MessageLimits limits;
    limits.maxFrameSize = 1200;
    limits.maxMessageSize = 1000;
    MessageAssembler assembler(limits);
    std::vector<Event> events;
    QCOMPARE(assembler.feed(bytes(view(before)), events), std::size_t(before.size()));
    QVERIFY(events.empty());
    assembler.feed(bytes(view(header)), events);
    QCOMPARE(eventTexts(events), QStringList{expected});
    QCOMPARE(assembler.feed(bytes("more"), events), std::size_t(0));
}

void tst_Message::failsFastOnInvalidUtf8MidFrame()
{
    // RFC 6455 §8.1 / §7.1.7: fail at the first bad byte, not when the 10 000-byte frame completes.
    std::string payload(10000, 'a');
    payload[20] = '\xff';
    const std::string frame = textFrame(payload, false);
    const std::size_t headerSize = frame.size() - payload.size();
    MessageAssembler assembler;
    std::vector<Event> events;
    assembler.feed(bytes(std::string_view(frame).substr(0, headerSize + 10)), events);
    QVERIFY(events.empty());
    QVERIFY(assembler.inMessage());
    assembler.feed(bytes(std::string_view(frame).substr(headerSize + 10, 100)), events);
    QCOMPARE(eventTexts(events), QStringList{failure("InvalidUtf8", 1007)});
    QCOMPARE(assembler.error(), Error::InvalidUtf8);
}

void tst_Message::atRestOnlyBetweenMessages()
{
    // ServerConnection frees the assembler whenever atRest(): it must be false wherever a fresh one
    // would lose something (a header prefix, an open message, a failure).
    MessageAssembler assembler;
    std::vector<Event> events;
    QVERIFY(assembler.atRest());
    const std::string first = textFrame("Hel", false);
    assembler.feed(bytes(std::string_view(first).substr(0, 1)), events);   // half a header
    QVERIFY(!assembler.atRest());
    assembler.feed(bytes(std::string_view(first).substr(1)), events);      // first fragment done
    QVERIFY(!assembler.atRest());
    const std::string ping = pingFrame("p");
    assembler.feed(bytes(ping), events);                                    // control frame inside
    QVERIFY(!assembler.atRest());
    const std::string last = continuationFrame("lo", true);
    assembler.feed(bytes(std::string_view(last).substr(0, last.size() - 1)), events);   // mid-payload
    QVERIFY(!assembler.atRest());
    assembler.feed(bytes(std::string_view(last).substr(last.size() - 1)), events);
    QVERIFY(assembler.atRest());
    QCOMPARE(eventTexts(events), (QStringList{QStringLiteral("ping: p"), QStringLiteral("text(5): Hello")}));
    assembler.feed(bytes(continuationFrame("x", true)), events);            // a sequencing error
    QVERIFY(!assembler.atRest());
}

void tst_Message::payloadIsHandedOutWithoutSlack()
{
    // One 1 MiB frame arriving in 4 KiB reads: the buffer is sized from the header, so the payload is
    // written once into its final allocation (no regrowth) and handed out by move.
    const std::string payload = pseudoRandom(1 << 20, 5);
    const std::string frame = binaryFrame(payload);
    MessageAssembler assembler;
    std::vector<Event> events;
    for (std::size_t at = 0; at < frame.size(); at += 4096)
        QCOMPARE(assembler.feed(bytes(std::string_view(frame).substr(at, 4096)), events),
                 std::min<std::size_t>(4096, frame.size() - at));
    QCOMPARE(events.size(), std::size_t(1));
    const auto &m = std::get<Message>(events[0]);
    QCOMPARE(m.payload.size(), payload.size());
    QVERIFY(m.payload == payload);
    QCOMPARE(m.payload.capacity(), payload.size());
    QVERIFY(!assembler.inMessage());
}

// Small whole messages at the front of a read take one step (MessageAssembler::takeSmallMessage());
// split, the same bytes take the frame-by-frame steps. Both must give the same events, failures
// included: every split point of a stream of every small size, with control frames and fragmented
// messages in between, and the cases the one step must leave to the general steps.
void tst_Message::smallMessagesWholeOrSplit_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<qulonglong>("maxMessage");
    QTest::addColumn<int>("messages");   // Message events expected before the end or the failure
    QTest::addColumn<QString>("last");   // the last event, a failure when there is one

    std::string wire;
    int count = 0;
    for (std::size_t size = 0; size <= 125; ++size) {
        const std::string payload = pseudoRandom(size, std::uint32_t(size + 1));
        std::string ascii(size, 'a');
        for (std::size_t i = 0; i < size; ++i)
            ascii[i] = char('a' + (i * 7 + size) % 26);
        wire += binaryFrame(payload) + textFrame(ascii);
        count += 2;
        if (size % 31 == 0) {   // a control frame and a fragmented message between the small ones
            wire += pingFrame("p") + textFrame("frag", false) + continuationFrame("ment", true);
            ++count;
        }
    }
    wire += textFrame("\xc3\xa9t\xc3\xa9 \xe2\x82\xac");   // multi-byte UTF-8, 9 bytes
    ++count;
    QTest::newRow("sizes 0-125, text and binary") << qba(wire) << qulonglong(1 << 20) << count
                                                 << textEvent("\xc3\xa9t\xc3\xa9 \xe2\x82\xac");

    const std::string three = textFrame("one") + binaryFrame("two") + textFrame("three");
    QTest::newRow("invalid UTF-8 in a small text") << qba(three + textFrame("bad \xff") + textFrame("never"))
                                                   << qulonglong(1 << 20) << 3
                                                   << failure("InvalidUtf8", 1007);
    QTest::newRow("text ending inside a code point") << qba(three + textFrame("cut \xe2\x82"))
                                                     << qulonglong(1 << 20) << 3 << failure("InvalidUtf8", 1007);
    QTest::newRow("over the message limit") << qba(three + binaryFrame(std::string(60, 'x')))
                                            << qulonglong(50) << 3 << failure("MessageTooBig", 1009);
    QTest::newRow("unmasked") << qba(three + makeFrame("plain", {.opcode = 0x1, .masked = false}) + textFrame("never"))
                              << qulonglong(1 << 20) << 3 << failure("UnmaskedFrame", 1002);
    QTest::newRow("RSV1 without an extension") << qba(three + makeFrame("x", {.opcode = 0x1, .rsv1 = true}))
                                               << qulonglong(1 << 20) << 3 << failure("ReservedBits", 1002);
    QTest::newRow("non-minimal length") << qba(three + makeFrame("short", {.opcode = 0x2, .lengthForm = 16}))
                                        << qulonglong(1 << 20) << 3 << failure("NonMinimalLength", 1002);
}

void tst_Message::smallMessagesWholeOrSplit()
{
    QFETCH(QByteArray, wire);
    QFETCH(qulonglong, maxMessage);
    QFETCH(int, messages);
    QFETCH(QString, last);
    Setup setup;
    setup.limits.maxMessageSize = maxMessage;
    const QStringList whole = run({"whole", {view(wire)}}, setup);
    int seen = 0;
    for (const QString &event : whole)
        seen += event.startsWith(QLatin1String("text(")) || event.startsWith(QLatin1String("binary(")) ? 1 : 0;
    QCOMPARE(seen, messages);
    QVERIFY(!whole.isEmpty());
    QCOMPARE(whole.back(), last);
    checkAllChunkings(wire, whole, setup);
}

QTEST_APPLESS_MAIN(tst_Message)
#include "tst_message.moc"
