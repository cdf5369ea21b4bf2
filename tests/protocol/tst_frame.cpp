// SPDX-License-Identifier: BSD-3-Clause
// Frame headers (RFC 6455 §5.2): round trips, every rejection with its close code, fail-fast prefixes.
#include "chunks.h"
#include "framebuilder.h"

#include <protocol/frame.h>

#include <QTest>

#include <string>

using namespace qws::protocol;
using qws::test::FrameSpec;
using qws::test::makeFrame;

Q_DECLARE_METATYPE(qws::protocol::Error)
Q_DECLARE_METATYPE(qws::protocol::FrameRules)
Q_DECLARE_METATYPE(qws::protocol::FrameHeader)
Q_DECLARE_METATYPE(std::string)

namespace {

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};   // RFC 6455 §5.7's key

using qws::test::hex;

/// Only the header bytes of a frame announcing `length` (makeFrame writes no payload when it is empty).
std::string header(std::uint64_t length, FrameSpec spec = {})
{
    spec.lengthOverride = length;
    return makeFrame({}, spec);
}

FrameRules rules(bool requireMask = true, bool allowRsv1 = false,
                 std::uint64_t maxPayload = UINT64_C(64) * 1024 * 1024)
{
    FrameRules r;
    r.requireMask = requireMask;
    r.allowRsv1 = allowRsv1;
    r.maxPayload = maxPayload;
    return r;
}

FrameHeader expect(Opcode op, std::uint64_t length, std::uint8_t headerSize, bool masked = true,
                   bool fin = true, bool rsv1 = false)
{
    FrameHeader h;
    h.fin = fin;
    h.rsv1 = rsv1;
    h.opcode = op;
    h.masked = masked;
    if (masked)
        h.mask = kMask;
    h.payloadLength = length;
    h.headerSize = headerSize;
    return h;
}

HeaderParse parse(std::string_view wire, const FrameRules &r, FrameHeader &out)
{
    return parseFrameHeader(qws::test::bytes(wire), r, out);
}

std::string write(const FrameHeader &h)
{
    std::array<std::byte, kMaxFrameHeaderSize> buf{};
    const std::size_t n = writeFrameHeader(buf, h.opcode, h.fin, h.rsv1, h.payloadLength,
                                           h.masked ? &h.mask : nullptr);
    return std::string(reinterpret_cast<const char *>(buf.data()), n);
}

void compareHeaders(const FrameHeader &got, const FrameHeader &want)
{
    QCOMPARE(got.fin, want.fin);
    QCOMPARE(got.rsv1, want.rsv1);
    QCOMPARE(got.rsv2, false);
    QCOMPARE(got.rsv3, false);
    QCOMPARE(got.opcode, want.opcode);
    QCOMPARE(got.masked, want.masked);
    QCOMPARE(got.mask, want.mask);
    QCOMPARE(got.payloadLength, want.payloadLength);
    QCOMPARE(got.headerSize, want.headerSize);
}

} // namespace

class TestFrame : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void rejects_data();
    void rejects();
    void everyFirstTwoBytes();
    void writerUsesMinimalLengths_data();
    void writerUsesMinimalLengths();
    void writerRoundTripsAroundBoundaries();
};

// python-websockets assertFrameData style: parse(bytes) == header and write(header) == bytes.
void TestFrame::roundTrip_data()
{
    QTest::addColumn<std::string>("wire");
    QTest::addColumn<FrameRules>("rules");
    QTest::addColumn<FrameHeader>("header");

    QTest::newRow("RFC 6455 §5.7: masked \"Hello\" text frame")
        << hex({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}) << rules() << expect(Opcode::Text, 5, 6);
    QTest::newRow("RFC 6455 §5.7: unmasked \"Hello\" when masking is not required")
        << hex({0x81, 0x05}) << rules(false) << expect(Opcode::Text, 5, 2, false);
    QTest::newRow("RFC 6455 §5.7: first fragment of an unmasked text message")
        << hex({0x01, 0x03}) << rules(false) << expect(Opcode::Text, 3, 2, false, false);
    QTest::newRow("RFC 6455 §5.7: last fragment (continuation with FIN)")
        << hex({0x80, 0x02}) << rules(false) << expect(Opcode::Continuation, 2, 2, false);
    QTest::newRow("RFC 6455 §5.7: masked pong with 5 bytes")
        << hex({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}) << rules() << expect(Opcode::Pong, 5, 6);
    QTest::newRow("RFC 6455 §5.7: 256-byte binary frame uses the 16-bit length")
        << hex({0x82, 0x7e, 0x01, 0x00}) << rules(false) << expect(Opcode::Binary, 256, 4, false);
    QTest::newRow("RFC 6455 §5.7: 64 KiB binary frame uses the 64-bit length")
        << hex({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}) << rules(false) << expect(Opcode::Binary, 65536, 10, false);
    QTest::newRow("RFC 6455 §5.2: empty masked close frame")
        << hex({0x88, 0x80, 0x37, 0xfa, 0x21, 0x3d}) << rules() << expect(Opcode::Close, 0, 6);
    QTest::newRow("RFC 6455 §5.5: ping with the largest control payload (125)")
        << header(125, {.opcode = 0x9}) << rules() << expect(Opcode::Ping, 125, 6);
    QTest::newRow("RFC 6455 §5.2: 125 bytes is the largest 7-bit length")
        << header(125, {.opcode = 0x2}) << rules() << expect(Opcode::Binary, 125, 6);
    QTest::newRow("RFC 6455 §5.2: 126 bytes is the smallest 16-bit length")
        << header(126, {.opcode = 0x2}) << rules() << expect(Opcode::Binary, 126, 8);
    QTest::newRow("RFC 6455 §5.2: 65535 bytes is the largest 16-bit length")
        << header(0xffff, {.opcode = 0x2}) << rules() << expect(Opcode::Binary, 0xffff, 8);
    QTest::newRow("RFC 6455 §5.2: 65536 bytes is the smallest 64-bit length")
        << header(0x10000, {.opcode = 0x2}) << rules() << expect(Opcode::Binary, 0x10000, 14);
    QTest::newRow("RFC 6455 §5.2: 2^63 - 1 is the largest 64-bit length")
        << header(INT64_MAX, {.opcode = 0x2}) << rules(true, false, UINT64_MAX)
        << expect(Opcode::Binary, INT64_MAX, 14);
    QTest::newRow("RFC 6455 §5.2: a non-final continuation frame")
        << header(10, {.opcode = 0x0, .fin = false}) << rules() << expect(Opcode::Continuation, 10, 6, true, false);
    QTest::newRow("RFC 7692 §6: RSV1 on a text frame once permessage-deflate is negotiated")
        << header(7, {.opcode = 0x1, .rsv1 = true}) << rules(true, true) << expect(Opcode::Text, 7, 6, true, true, true);
    QTest::newRow("RFC 7692 §6: RSV1 on a non-final binary frame with permessage-deflate")
        << header(300, {.opcode = 0x2, .fin = false, .rsv1 = true}) << rules(true, true)
        << expect(Opcode::Binary, 300, 8, true, false, true);
    QTest::newRow("FrameRules: a frame of exactly maxPayload bytes is accepted")
        << header(1000, {.opcode = 0x2}) << rules(true, false, 1000) << expect(Opcode::Binary, 1000, 8);
}

void TestFrame::roundTrip()
{
    QFETCH(std::string, wire);
    QFETCH(FrameRules, rules);
    QFETCH(FrameHeader, header);

    QCOMPARE(write(header), wire);

    // Fed the way a connection accumulates a header: every chunking, parse after each chunk.
    for (const auto &chunking : qws::test::allChunkings(wire)) {
        std::string have;
        for (std::size_t c = 0; c < chunking.chunks.size(); ++c) {
            have.append(chunking.chunks[c]);
            FrameHeader got;
            const HeaderParse r = parse(have, rules, got);
            const bool last = c + 1 == chunking.chunks.size();
            if (!last) {
                QVERIFY2(r.status == ParseStatus::NeedMore, chunking.name.c_str());
                continue;
            }
            QVERIFY2(r.status == ParseStatus::Complete, chunking.name.c_str());
            QCOMPARE(r.error, Error::None);
            compareHeaders(got, header);
        }
    }

    // Payload bytes after the header are not the header's.
    FrameHeader got;
    const std::string withPayload = wire + std::string(200, '\x81');
    QCOMPARE(parse(withPayload, rules, got).status, ParseStatus::Complete);
    compareHeaders(got, header);
}

void TestFrame::rejects_data()
{
    QTest::addColumn<std::string>("wire");
    QTest::addColumn<FrameRules>("rules");
    QTest::addColumn<Error>("error");
    QTest::addColumn<int>("closeCode");
    QTest::addColumn<int>("decidedAt");   // the shortest prefix that must already fail (fail fast)

    const auto row = [](const char *name, std::string wire, FrameRules r, Error e, int code, int at) {
        QTest::newRow(name) << std::move(wire) << r << e << code << at;
    };
    row("RFC 6455 §5.2: RSV1 without a negotiated extension → 1002",
        header(5, {.rsv1 = true}), rules(), Error::ReservedBits, 1002, 1);
    row("RFC 6455 §5.2: RSV2 set → 1002", header(5, {.rsv2 = true}), rules(), Error::ReservedBits, 1002, 1);
    row("RFC 6455 §5.2: RSV3 set → 1002", header(5, {.rsv3 = true}), rules(), Error::ReservedBits, 1002, 1);
    row("RFC 7692 §6: RSV2 stays reserved under permessage-deflate → 1002",
        header(5, {.rsv2 = true}), rules(true, true), Error::ReservedBits, 1002, 1);
    row("RFC 7692 §6: RSV1 on a ping → 1002",
        header(5, {.opcode = 0x9, .rsv1 = true}), rules(true, true), Error::CompressedControlFrame, 1002, 1);
    row("RFC 7692 §6: RSV1 on a close → 1002",
        header(2, {.opcode = 0x8, .rsv1 = true}), rules(true, true), Error::CompressedControlFrame, 1002, 1);
    row("RFC 6455 §5.2: RSV1 on a ping without an extension is a reserved bit → 1002",
        header(5, {.opcode = 0x9, .rsv1 = true}), rules(), Error::ReservedBits, 1002, 1);
    for (int op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        const std::string name = "RFC 6455 §5.2: reserved opcode 0x" + std::to_string(op) + " → 1002";
        QTest::newRow(name.c_str()) << header(0, {.opcode = std::uint8_t(op)}) << rules()
                                    << Error::UnknownOpcode << 1002 << 1;
    }
    row("RFC 6455 §5.5: ping without FIN → 1002",
        header(0, {.opcode = 0x9, .fin = false}), rules(), Error::FragmentedControlFrame, 1002, 1);
    row("RFC 6455 §5.5: close without FIN → 1002",
        header(2, {.opcode = 0x8, .fin = false}), rules(), Error::FragmentedControlFrame, 1002, 1);
    row("RFC 6455 §5.5: pong without FIN → 1002",
        header(0, {.opcode = 0xA, .fin = false}), rules(), Error::FragmentedControlFrame, 1002, 1);
    row("RFC 6455 §5.1: unmasked client text frame → 1002",
        header(5, {.masked = false}), rules(), Error::UnmaskedFrame, 1002, 2);
    row("RFC 6455 §5.1: unmasked client frame with a 64-bit length fails at byte 2 → 1002",
        header(70000, {.opcode = 0x2, .masked = false}), rules(), Error::UnmaskedFrame, 1002, 2);
    row("RFC 6455 §5.5: ping announcing a 16-bit length (126) → 1002",
        header(126, {.opcode = 0x9}), rules(), Error::ControlFrameTooLong, 1002, 2);
    row("RFC 6455 §5.5: close announcing a 64-bit length → 1002",
        header(70000, {.opcode = 0x8}), rules(), Error::ControlFrameTooLong, 1002, 2);
    row("RFC 6455 §5.5: pong with a non-minimal 16-bit length of 5 is still too long → 1002",
        header(5, {.opcode = 0xA, .lengthForm = 16}), rules(), Error::ControlFrameTooLong, 1002, 2);
    row("RFC 6455 §5.2: non-minimal 16-bit length (125) → 1002",
        header(125, {.lengthForm = 16}), rules(), Error::NonMinimalLength, 1002, 4);
    row("RFC 6455 §5.2: non-minimal 16-bit length (0) → 1002",
        header(0, {.lengthForm = 16}), rules(), Error::NonMinimalLength, 1002, 4);
    row("RFC 6455 §5.2: non-minimal 64-bit length (65535) → 1002",
        header(0xffff, {.lengthForm = 64}), rules(), Error::NonMinimalLength, 1002, 10);
    row("RFC 6455 §5.2: non-minimal 64-bit length (126) → 1002",
        header(126, {.lengthForm = 64}), rules(), Error::NonMinimalLength, 1002, 10);
    row("RFC 6455 §5.2: non-minimal 64-bit length (0) → 1002",
        header(0, {.lengthForm = 64}), rules(), Error::NonMinimalLength, 1002, 10);
    row("RFC 6455 §5.2: 64-bit length with the most significant bit set → 1002",
        header(UINT64_C(1) << 63, {.opcode = 0x2}), rules(true, false, UINT64_MAX), Error::LengthTooLarge, 1002, 3);
    row("RFC 6455 §5.2: 64-bit length of 2^64 - 2 → 1002",
        header(UINT64_MAX - 1, {.opcode = 0x2}), rules(), Error::LengthTooLarge, 1002, 3);
    row("FrameRules: 7-bit length over maxPayload → 1009",
        header(101, {.opcode = 0x2}), rules(true, false, 100), Error::FrameTooBig, 1009, 2);
    row("FrameRules: 16-bit length over maxPayload → 1009",
        header(1001, {.opcode = 0x2}), rules(true, false, 1000), Error::FrameTooBig, 1009, 4);
    row("FrameRules: 64-bit length over the default 64 MiB maxPayload → 1009",
        header(UINT64_C(64) * 1024 * 1024 + 1, {.opcode = 0x2}), rules(), Error::FrameTooBig, 1009, 10);
    // Precedence: the byte that arrives first decides.
    row("RFC 6455 §5.2: RSV2 on a reserved opcode reports the reserved bit → 1002",
        header(0, {.opcode = 0x3, .rsv2 = true}), rules(), Error::ReservedBits, 1002, 1);
    row("RFC 6455 §5.2: a reserved opcode unmasked fails on byte 0 → 1002",
        header(0, {.opcode = 0xB, .masked = false}), rules(), Error::UnknownOpcode, 1002, 1);
    row("RFC 6455 §5.5: an unfragmentable ping unmasked fails on byte 0 → 1002",
        header(0, {.opcode = 0x9, .fin = false, .masked = false}), rules(), Error::FragmentedControlFrame, 1002, 1);
    row("RFC 6455 §5.1: unmasked and non-minimal reports the mask (byte 1) → 1002",
        header(3, {.masked = false, .lengthForm = 16}), rules(), Error::UnmaskedFrame, 1002, 2);
}

void TestFrame::rejects()
{
    QFETCH(std::string, wire);
    QFETCH(FrameRules, rules);
    QFETCH(Error, error);
    QFETCH(int, closeCode);
    QFETCH(int, decidedAt);

    QCOMPARE(int(closeCodeFor(error)), closeCode);
    // Every prefix shorter than `decidedAt` is a NeedMore; from there on, the same failure.
    for (std::size_t n = 0; n <= wire.size(); ++n) {
        FrameHeader got;
        const HeaderParse r = parse(std::string_view(wire).substr(0, n), rules, got);
        const QByteArray where = "prefix of " + QByteArray::number(qulonglong(n));
        if (n < std::size_t(decidedAt)) {
            QVERIFY2(r.status == ParseStatus::NeedMore, where);
        } else {
            QVERIFY2(r.status == ParseStatus::Failed, where);
            QCOMPARE(r.error, error);
        }
    }
}

// Every value of bytes 0 and 1 under three rule sets: a prefix is NeedMore or the same failure as the
// whole header, a failure seen at 2 bytes is seen at 1 byte when byte 0 alone decides it, and whatever
// completes is a header the writer reproduces byte for byte.
void TestFrame::everyFirstTwoBytes()
{
    const FrameRules sets[] = {rules(), rules(false, true), rules(true, true, 200)};
    int completes = 0, failures = 0;
    for (const FrameRules &r : sets) {
        for (int b0 = 0; b0 < 256; ++b0) {
            for (int b1 = 0; b1 < 256; ++b1) {
                std::string wire{char(b0), char(b1)};
                const int len7 = b1 & 0x7f;
                if (len7 == 126)
                    wire += hex({0x01, 0x00});
                else if (len7 == 127)
                    wire += hex({0, 0, 0, 0, 0, 0x01, 0x00, 0x00});
                if (b1 & 0x80)
                    wire += hex({0x37, 0xfa, 0x21, 0x3d});
                FrameHeader whole;
                const HeaderParse w = parse(wire, r, whole);
                QVERIFY(w.status != ParseStatus::NeedMore);
                for (std::size_t n = 0; n < wire.size(); ++n) {
                    FrameHeader part;
                    const HeaderParse p = parse(std::string_view(wire).substr(0, n), r, part);
                    if (p.status == ParseStatus::Failed)
                        QCOMPARE(p.error, w.error);
                    else
                        QCOMPARE(p.status, ParseStatus::NeedMore);
                }
                FrameHeader first;
                const HeaderParse one = parse(std::string_view(wire).substr(0, 1), r, first);
                const bool byte0Decides = (b0 & 0x30) || ((b0 & 0x40) && !r.allowRsv1)
                    || ((b0 & 0x0f) >= 3 && (b0 & 0x0f) <= 7) || (b0 & 0x0f) >= 0xB
                    || ((b0 & 0x08) && !(b0 & 0x80)) || ((b0 & 0x08) && (b0 & 0x40));
                QCOMPARE(one.status == ParseStatus::Failed, byte0Decides);
                if (w.status == ParseStatus::Complete) {
                    ++completes;
                    QCOMPARE(write(whole), wire);
                } else {
                    ++failures;
                }
            }
        }
    }
    QVERIFY(completes > 5000);   // both outcomes are exercised in bulk
    QVERIFY(failures > 100000);
}

void TestFrame::writerUsesMinimalLengths_data()
{
    QTest::addColumn<quint64>("length");
    QTest::addColumn<bool>("masked");
    QTest::addColumn<std::string>("wire");

    QTest::newRow("RFC 6455 §5.2: empty server frame is 2 bytes") << quint64(0) << false << hex({0x82, 0x00});
    QTest::newRow("RFC 6455 §5.2: 125 fits the 7-bit length") << quint64(125) << false << hex({0x82, 0x7d});
    QTest::newRow("RFC 6455 §5.2: 126 takes the 16-bit length") << quint64(126) << false << hex({0x82, 0x7e, 0x00, 0x7e});
    QTest::newRow("RFC 6455 §5.2: 65535 takes the 16-bit length") << quint64(0xffff) << false << hex({0x82, 0x7e, 0xff, 0xff});
    QTest::newRow("RFC 6455 §5.2: 65536 takes the 64-bit length")
        << quint64(0x10000) << false << hex({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0});
    QTest::newRow("RFC 6455 §5.2: 2^32 + 1 in network byte order")
        << quint64(0x100000001) << false << hex({0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 1});
    QTest::newRow("RFC 6455 §5.3: a masked header carries the key after the length")
        << quint64(300) << true << hex({0x82, 0xfe, 0x01, 0x2c, 0x37, 0xfa, 0x21, 0x3d});
    QTest::newRow("RFC 6455 §5.3: a masked 64-bit header is 14 bytes")
        << quint64(0x10000) << true << hex({0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0x37, 0xfa, 0x21, 0x3d});
}

void TestFrame::writerUsesMinimalLengths()
{
    QFETCH(quint64, length);
    QFETCH(bool, masked);
    QFETCH(std::string, wire);

    std::array<std::byte, kMaxFrameHeaderSize> buf{};
    const std::size_t n = writeFrameHeader(buf, Opcode::Binary, true, false, length, masked ? &kMask : nullptr);
    QCOMPARE(std::string(reinterpret_cast<const char *>(buf.data()), n), wire);
}

void TestFrame::writerRoundTripsAroundBoundaries()
{
    const std::uint64_t lengths[] = {0, 1, 124, 125, 126, 127, 128, 0xfffe, 0xffff, 0x10000, 0x10001,
                                     0xffffffff, 0x100000000, INT64_MAX - 1, INT64_MAX};
    const Opcode opcodes[] = {Opcode::Continuation, Opcode::Text, Opcode::Binary};
    const FrameRules r = rules(false, true, UINT64_MAX);
    for (std::uint64_t len : lengths) {
        for (Opcode op : opcodes) {
            for (int flags = 0; flags < 8; ++flags) {
                FrameHeader want = expect(op, len, 0, flags & 1, flags & 2, flags & 4);
                want.headerSize = std::uint8_t(write(want).size());
                FrameHeader got;
                QCOMPARE(parse(write(want), r, got).status, ParseStatus::Complete);
                compareHeaders(got, want);
            }
        }
    }
}

QTEST_APPLESS_MAIN(TestFrame)
#include "tst_frame.moc"
