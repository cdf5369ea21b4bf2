// SPDX-License-Identifier: BSD-3-Clause
// Close frames (RFC 6455 §5.5.1, §7.4): payload rules, every status code, reason truncation, handshake states.
#include "chunks.h"

#include <protocol/close.h>
#include <protocol/utf8.h>

#include <QTest>

using namespace qws::protocol;
using qws::test::bytes;

namespace {

QString name(Error e)
{
    switch (e) {
    case Error::None: return QStringLiteral("None");
    case Error::CloseTooShort: return QStringLiteral("CloseTooShort");
    case Error::InvalidCloseCode: return QStringLiteral("InvalidCloseCode");
    case Error::InvalidCloseReason: return QStringLiteral("InvalidCloseReason");
    default: return QStringLiteral("Error %1").arg(int(e));
    }
}

QString stateName(ClosingHandshake::State s)
{
    switch (s) {
    case ClosingHandshake::State::Open: return QStringLiteral("Open");
    case ClosingHandshake::State::CloseSent: return QStringLiteral("CloseSent");
    case ClosingHandshake::State::CloseReceived: return QStringLiteral("CloseReceived");
    case ClosingHandshake::State::Closed: return QStringLiteral("Closed");
    }
    return {};
}

std::string payload(std::uint16_t code, std::string_view reason = {})
{
    std::string p{char(code >> 8), char(code & 0xff)};
    p.append(reason);
    return p;
}

QByteArray hex(const std::string &s) { return QByteArray::fromStdString(s).toHex(' '); }

/// The rule of RFC 6455 §7.4.1/§7.4.2 plus the IANA registry, written out independently of errors.cpp.
bool mayBeSent(unsigned code)
{
    if (code < 1000 || code >= 5000)
        return false;                        // §7.4.2: 0–999 unused, ≥ 5000 undefined
    if (code >= 3000)
        return true;                         // §7.4.2: 3000–3999 registered, 4000–4999 private use
    if (code >= 1016)
        return false;                        // §7.4.2: 1016–2999 reserved for extensions/revisions
    return code != 1004 && code != 1005 && code != 1006 && code != 1015;   // §7.4.1: reserved, never sent
}

} // namespace

class TestClose : public QObject
{
    Q_OBJECT

private slots:
    void codes_data();
    void codes();
    void everyCode();
    void payloads_data();
    void payloads();
    void failureLeavesOutputAlone();
    void make_data();
    void make();
    void truncationKeepsUtf8();
    void roundTrip();
    void handshake_data();
    void handshake();
};

void TestClose::codes_data()
{
    QTest::addColumn<int>("code");
    QTest::addColumn<bool>("valid");
    const struct { int code; bool valid; const char *why; } rows[] = {
        {0, false, "RFC 6455 §7.4.2: 0–999 are not used"},
        {999, false, "RFC 6455 §7.4.2: 0–999 are not used"},
        {1000, true, "RFC 6455 §7.4.1: normal closure"},
        {1001, true, "RFC 6455 §7.4.1: going away"},
        {1002, true, "RFC 6455 §7.4.1: protocol error"},
        {1003, true, "RFC 6455 §7.4.1: unsupported data"},
        {1004, false, "RFC 6455 §7.4.1: reserved"},
        {1005, false, "RFC 6455 §7.4.1: no status, must not be sent"},
        {1006, false, "RFC 6455 §7.4.1: abnormal closure, must not be sent"},
        {1007, true, "RFC 6455 §7.4.1: invalid payload data"},
        {1008, true, "RFC 6455 §7.4.1: policy violation"},
        {1009, true, "RFC 6455 §7.4.1: message too big"},
        {1010, true, "RFC 6455 §7.4.1: mandatory extension"},
        {1011, true, "RFC 6455 §7.4.1: internal error"},
        {1012, true, "IANA registry: service restart"},
        {1013, true, "IANA registry: try again later"},
        {1014, true, "IANA registry: bad gateway"},
        {1015, false, "RFC 6455 §7.4.1: TLS handshake, must not be sent"},
        {1016, false, "RFC 6455 §7.4.2: 1016–2999 reserved"},
        {2999, false, "RFC 6455 §7.4.2: 1016–2999 reserved"},
        {3000, true, "RFC 6455 §7.4.2: 3000–3999 for libraries"},
        {3999, true, "RFC 6455 §7.4.2: 3000–3999 for libraries"},
        {4000, true, "RFC 6455 §7.4.2: 4000–4999 private use"},
        {4999, true, "RFC 6455 §7.4.2: 4000–4999 private use"},
        {5000, false, "RFC 6455 §7.4.2: above 4999 undefined"},
        {65535, false, "RFC 6455 §7.4.2: above 4999 undefined"},
    };
    for (const auto &r : rows)
        QTest::addRow("%s: %d", r.why, r.code) << r.code << r.valid;
}

void TestClose::codes()
{
    QFETCH(int, code);
    QFETCH(bool, valid);
    Close c;
    const Error e = parseClosePayload(bytes(payload(std::uint16_t(code), "why")), c);
    QCOMPARE(name(e), valid ? QStringLiteral("None") : QStringLiteral("InvalidCloseCode"));
    if (valid) {
        QCOMPARE(int(c.code), code);
        QCOMPARE(c.reason, std::string("why"));
    }
    // Building is the mirror image: a code that may not be sent becomes an empty payload.
    QCOMPARE(makeClosePayload(std::uint16_t(code), "why").empty(), !valid);
}

// All 65536 codes against the rule written out above, both when parsing and when building.
void TestClose::everyCode()
{
    int accepted = 0;
    for (unsigned code = 0; code <= 0xffff; ++code) {
        Close c;
        const bool ok = parseClosePayload(bytes(payload(std::uint16_t(code))), c) == Error::None;
        if (ok != mayBeSent(code))
            QFAIL(qPrintable(QString("code %1: parse says %2").arg(code).arg(ok)));
        if (makeClosePayload(std::uint16_t(code), {}).empty() == mayBeSent(code))
            QFAIL(qPrintable(QString("code %1: makeClosePayload disagrees").arg(code)));
        accepted += ok;
    }
    QCOMPARE(accepted, 4 + 8 + 2000);   // 1000–1003, 1007–1014, 3000–4999
}

void TestClose::payloads_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<QString>("error");
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("reason");
    auto raw = [](const std::string &s) { return QByteArray::fromStdString(s); };
    QTest::newRow("RFC 6455 §5.5.1/§7.1.5: empty payload → 1005, no reason")
        << QByteArray() << "None" << 1005 << QByteArray();
    QTest::newRow("RFC 6455 §5.5.1: 1-byte payload → too short") << QByteArray("\x03", 1) << "CloseTooShort" << 0
                                                                 << QByteArray();
    QTest::newRow("RFC 6455 §5.5.1: code only") << raw(payload(1000)) << "None" << 1000 << QByteArray();
    QTest::newRow("RFC 6455 §5.5.1: code and ASCII reason") << raw(payload(1001, "bye")) << "None" << 1001
                                                            << QByteArray("bye");
    QTest::newRow("RFC 6455 §5.5.1: code and multi-byte UTF-8 reason")
        << raw(payload(4000, "Gr\u00fc\u00dfe \u20ac \U0001F44B")) << "None" << 4000
        << QByteArray("Gr\u00fc\u00dfe \u20ac \U0001F44B");
    QTest::newRow("RFC 6455 §5.5: 123-byte reason fills the 125-byte frame")
        << raw(payload(1000, std::string(123, 'r'))) << "None" << 1000 << QByteArray(123, 'r');
    QTest::newRow("RFC 6455 §8.1: reason with a stray 0xff") << raw(payload(1000, "ok\xff")) << "InvalidCloseReason"
                                                             << 0 << QByteArray();
    QTest::newRow("RFC 6455 §8.1: reason ends inside a code point")
        << raw(payload(1000, "euro \xe2\x82")) << "InvalidCloseReason" << 0 << QByteArray();
    QTest::newRow("RFC 6455 §8.1: overlong '/' in reason") << raw(payload(1000, "\xc0\xaf")) << "InvalidCloseReason"
                                                           << 0 << QByteArray();
    QTest::newRow("RFC 6455 §8.1: UTF-16 surrogate in reason") << raw(payload(1000, "\xed\xa0\x80"))
                                                               << "InvalidCloseReason" << 0 << QByteArray();
    QTest::newRow("RFC 6455 §7.4: bad code is reported before a bad reason") << raw(payload(1005, "\xff"))
                                                                             << "InvalidCloseCode" << 0
                                                                             << QByteArray();
}

void TestClose::payloads()
{
    QFETCH(QByteArray, data);
    QFETCH(QString, error);
    QFETCH(int, code);
    QFETCH(QByteArray, reason);
    Close c;
    const Error e = parseClosePayload(bytes(std::string_view(data.constData(), data.size())), c);
    QCOMPARE(name(e), error);
    if (e == Error::None) {
        QCOMPARE(int(c.code), code);
        QCOMPARE(QByteArray::fromStdString(c.reason), reason);
    }
}

// A refused payload does not half-fill the event.
void TestClose::failureLeavesOutputAlone()
{
    Close c{1001, "before"};
    QCOMPARE(name(parseClosePayload(bytes(payload(1000, "\xff")), c)), QStringLiteral("InvalidCloseReason"));
    QCOMPARE(int(c.code), 1001);
    QCOMPARE(c.reason, std::string("before"));
    QCOMPARE(name(parseClosePayload(bytes(std::string_view("\x03", 1)), c)), QStringLiteral("CloseTooShort"));
    QCOMPARE(int(c.code), 1001);
}

void TestClose::make_data()
{
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("reason");
    QTest::addColumn<QByteArray>("expected");   // hex
    QTest::newRow("RFC 6455 §5.5.1: code in network byte order") << 1000 << QByteArray() << QByteArray("03 e8");
    QTest::newRow("RFC 6455 §5.5.1: code then reason") << 1001 << QByteArray("bye") << QByteArray("03 e9 62 79 65");
    QTest::newRow("RFC 6455 §7.4.2: private code 4999") << 4999 << QByteArray("x") << QByteArray("13 87 78");
    QTest::newRow("RFC 6455 §7.4.1: 1005 → no body") << 1005 << QByteArray("ignored") << QByteArray();
    QTest::newRow("RFC 6455 §7.4.1: 1006 must not be sent → no body") << 1006 << QByteArray("x") << QByteArray();
    QTest::newRow("RFC 6455 §7.4.1: 1015 must not be sent → no body") << 1015 << QByteArray() << QByteArray();
    QTest::newRow("RFC 6455 §8.1: a reason that is not UTF-8 is dropped") << 1011 << QByteArray("\xff\xfe")
                                                                          << QByteArray("03 f3");
    QTest::newRow("RFC 6455 §5.5: ASCII reason cut to 123 bytes")
        << 1000 << QByteArray(200, 'a') << (QByteArray("03 e8 ") + QByteArray(123, 'a').toHex(' '));
}

void TestClose::make()
{
    QFETCH(int, code);
    QFETCH(QByteArray, reason);
    QFETCH(QByteArray, expected);
    QCOMPARE(hex(makeClosePayload(std::uint16_t(code), reason.toStdString())), expected);
}

// RFC 6455 §5.5 + §8.1: cutting to 123 bytes never splits a code point, for every cut position
// inside 2-, 3- and 4-byte sequences.
void TestClose::truncationKeepsUtf8()
{
    for (const std::string unit : {"\u00e9", "\u20ac", "\U0001F44B"}) {
        for (std::size_t lead = 0; lead < 4; ++lead) {
            std::string reason(lead, 'a');
            while (reason.size() < 200)
                reason += unit;
            const std::string p = makeClosePayload(1000, reason);
            const std::string_view got = std::string_view(p).substr(2);
            QVERIFY(p.size() <= 125);
            QVERIFY(got.size() + unit.size() > 123);              // cut as late as possible
            QVERIFY(std::string_view(reason).starts_with(got));   // a prefix, nothing invented
            QVERIFY2(isValidUtf8(got), qPrintable(QString("unit %1 lead %2").arg(unit.size()).arg(lead)));
            Close c;
            QCOMPARE(name(parseClosePayload(bytes(p), c)), QStringLiteral("None"));
        }
    }
    // Exactly 123 bytes is not cut.
    const std::string exact = std::string(120, 'a') + "\u20ac";
    QCOMPARE(makeClosePayload(1000, exact).size(), std::size_t(125));
}

void TestClose::roundTrip()
{
    for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
        for (std::string_view reason : {"", "bye", "\u00e9t\u00e9 \U0001F44B"}) {
            Close c;
            QCOMPARE(name(parseClosePayload(bytes(makeClosePayload(code, reason)), c)), QStringLiteral("None"));
            QCOMPARE(c.code, code);
            QCOMPARE(c.reason, std::string(reason));
        }
    }
}

// The closing handshake (RFC 6455 §7.1.2–§7.1.7) as sequences of steps: "send" = we send a close
// frame, "recv" = the peer's close frame arrives, "fail" = we fail the connection. Each step is
// written as "<state after>/<return value>" ("-" for fail, which returns nothing).
void TestClose::handshake_data()
{
    QTest::addColumn<QString>("steps");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<QString>("sendRecv");   // canSendData/canReceiveData after each step: "sr", "s-", "-r", "--"
    QTest::addColumn<bool>("peerFirst");     // peerClosedFirst() at the end: TCP may close without a linger
    QTest::newRow("RFC 6455 §7.1.2: we close first, the peer answers")
        << "send recv" << "CloseSent/true Closed/false" << "-r --" << false;
    QTest::newRow("RFC 6455 §5.5.1: the peer closes first, we answer")
        << "recv send" << "CloseReceived/true Closed/true" << "s- --" << true;
    QTest::newRow("RFC 6455 §5.5.1: a second close of ours is refused")
        << "send send recv send" << "CloseSent/true CloseSent/false Closed/false Closed/false" << "-r -r -- --" << false;
    QTest::newRow("RFC 6455 §5.5.1: a second close of the peer needs no answer")
        << "recv recv send recv" << "CloseReceived/true CloseReceived/false Closed/true Closed/false"
        << "s- s- -- --" << true;
    QTest::newRow("RFC 6455 §7.1.7: fail while open") << "fail send recv" << "Closed/- Closed/false Closed/false"
                                                      << "-- -- --" << false;
    QTest::newRow("RFC 6455 §7.1.7: fail while waiting for the peer's close")
        << "send fail recv" << "CloseSent/true Closed/- Closed/false" << "-r -- --" << false;
    QTest::newRow("RFC 6455 §7.1.7: fail before answering the peer's close")
        << "recv fail send" << "CloseReceived/true Closed/- Closed/false" << "s- -- --" << true;
}

void TestClose::handshake()
{
    QFETCH(QString, steps);
    QFETCH(QString, expected);
    QFETCH(QString, sendRecv);
    QFETCH(bool, peerFirst);
    ClosingHandshake h;
    QCOMPARE(stateName(h.state()), QStringLiteral("Open"));
    QVERIFY(h.canSendData() && h.canReceiveData());
    QStringList got, flags;
    for (const QString &step : steps.split(' ')) {
        QString ret = QStringLiteral("-");
        if (step == "send")
            ret = h.onSend() ? "true" : "false";
        else if (step == "recv")
            ret = h.onReceive() ? "true" : "false";
        else
            h.onFail();
        got << stateName(h.state()) + '/' + ret;
        flags << QString(h.canSendData() ? "s" : "-") + (h.canReceiveData() ? "r" : "-");
    }
    QCOMPARE(got.join(' '), expected);
    QCOMPARE(flags.join(' '), sendRecv);
    QCOMPARE(h.peerClosedFirst(), peerFirst);
}

QTEST_APPLESS_MAIN(TestClose)
#include "tst_close.moc"
