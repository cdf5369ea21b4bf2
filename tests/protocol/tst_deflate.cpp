// SPDX-License-Identifier: BSD-3-Clause
// permessage-deflate (RFC 7692): offer → response table, RFC §7.2.3 bytes, round trips, caps, bombs.
#include "deflatehelpers.h"   // chunks.h, zlib.h

#include <protocol/deflate.h>
#include <protocol/extensions.h>

#include <QElapsedTimer>
#include <QTest>

using namespace qws::protocol;
using namespace qws::test;

namespace {

QString name(Error e) { return deflateErrorName(e); }

struct Opts {
    bool enabled = true;
    int serverMax = 15, clientMax = 15;
    bool serverNct = false, clientNct = false;
};

} // namespace

Q_DECLARE_METATYPE(Opts)

class TestDeflate : public QObject
{
    Q_OBJECT

private slots:
    void negotiate_data();
    void negotiate();
    void negotiatedParams();
    void rfcExamplesInflate_data();
    void rfcExamplesInflate();
    void rfcExamplesDeflate();
    void finalBlockKeepsContext();
    void roundTrip_data();
    void roundTrip();
    void zlibInterop_data() { roundTrip_data(); }
    void zlibInterop();
    void contextTakeoverShrinksRepeats();
    void everySplitPoint();
    void emptyMessages();
    void largeMessages();
    void capIsExact();
    void zipBomb();
    void corrupt_data();
    void corrupt();
    void windowLimitAcrossMessages();
};

// uWebSockets tests/ExtensionsNegotiator.cpp style: what the client offers → what we answer.
// In both columns a leading ';' stands for "permessage-deflate;"; an empty response means declined.
void TestDeflate::negotiate_data()
{
    QTest::addColumn<QString>("offer");
    QTest::addColumn<Opts>("opts");
    QTest::addColumn<QString>("response");
    auto row = [](const char *n, const char *offer, const char *resp, Opts o = {}) {
        auto expand = [](const char *t) { return QString::fromUtf8(t[0] == ';' ? "permessage-deflate" : "") + t; };
        QTest::newRow(n) << expand(offer) << o << expand(resp);
    };
    const char *pmd = "permessage-deflate";
    row("RFC 7692 §5: bare offer → accepted, defaults", pmd, pmd);
    row("RFC 7692 §7.1.1.1: server_no_context_takeover", "; server_no_context_takeover",
        "; server_no_context_takeover");
    row("RFC 7692 §7.1.1.1: server_no_context_takeover=1 → declined", "; server_no_context_takeover=1", "");
    row("RFC 7692 §7.1.1.2: client_no_context_takeover (no space)", ";client_no_context_takeover",
        "; client_no_context_takeover");
    row("RFC 7692 §7.1.1.2: client_no_context_takeover=\"x\" → declined", "; client_no_context_takeover=\"x\"", "");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=10", "; server_max_window_bits=10", "; server_max_window_bits=10");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=8 (smallest)", "; server_max_window_bits=8",
        "; server_max_window_bits=8");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=15 offered → echoed, accepted \"by including\" it",
        "; server_max_window_bits=15", "; server_max_window_bits=15");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=\"11\" (quoted)", "; server_max_window_bits=\"11\"",
        "; server_max_window_bits=11");
    row("RFC 7692 §7.1.2.1: server_max_window_bits without value → declined", "; server_max_window_bits", "");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=7 → declined", "; server_max_window_bits=7", "");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=16 → declined", "; server_max_window_bits=16", "");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=09 (leading zero) → declined", "; server_max_window_bits=09", "");
    row("RFC 7692 §7.1.2.1: server_max_window_bits=\"1a\" → declined", "; server_max_window_bits=\"1a\"", "");
    row("RFC 7692 §7.1.2.2: client_max_window_bits, no value → 15, not echoed", "; client_max_window_bits", pmd);
    row("RFC 7692 §7.1.2.2: client_max_window_bits=9 → echoed", "; client_max_window_bits=9",
        "; client_max_window_bits=9");
    row("RFC 7692 §7.1.2.2: client_max_window_bits=\"12\" (quoted)", "; client_max_window_bits=\"12\"",
        "; client_max_window_bits=12");
    row("RFC 7692 §7.1.2.2: client_max_window_bits=16 → declined", "; client_max_window_bits=16", "");
    row("RFC 7692 §7.1.2.2: client_max_window_bits=0 → declined", "; client_max_window_bits=0", "");
    row("RFC 7692 §7.1: duplicate server_no_context_takeover → declined",
        "; server_no_context_takeover; server_no_context_takeover", "");
    row("RFC 7692 §7.1: duplicate client_no_context_takeover → declined",
        "; client_no_context_takeover; client_no_context_takeover", "");
    row("RFC 7692 §7.1: duplicate server_max_window_bits → declined",
        "; server_max_window_bits=10; server_max_window_bits=10", "");
    row("RFC 7692 §7.1: duplicate client_max_window_bits → declined",
        "; client_max_window_bits; client_max_window_bits=10", "");
    row("RFC 7692 §7.1: unknown parameter → declined", "; x_max_window_bits=10", "");
    row("RFC 7692 §7.1: all four parameters", "; client_max_window_bits=11; server_max_window_bits=9; "
        "client_no_context_takeover; server_no_context_takeover", "; server_no_context_takeover; "
        "client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11");
    row("RFC 6455 §9.1: other extensions only → declined", "x-webkit-deflate-frame, permessage-foo", "");
    row("RFC 6455 §9.1: other extensions before it are skipped",
        "x-webkit-deflate-frame; no_context_takeover, foo; bar=1, permessage-deflate; client_max_window_bits", pmd);
    row("RFC 7692 §5: the client's first acceptable offer wins",
        "; client_max_window_bits=10, permessage-deflate", "; client_max_window_bits=10");
    row("RFC 7692 §5: an invalid first offer falls back to the next",
        "; server_max_window_bits=20, permessage-deflate; server_no_context_takeover", "; server_no_context_takeover");
    row("RFC 7692 §5: every offer invalid → declined", "; foo, permessage-deflate; server_max_window_bits", "");
    row("options.enabled = false → declined", pmd, "", {.enabled = false});
    row("RFC 7692 §7.1.2.1: our window 10 announced though not offered", pmd, "; server_max_window_bits=10",
        {.serverMax = 10});
    row("RFC 7692 §7.1.2.1: min(offer 12, ours 10)", "; server_max_window_bits=12", "; server_max_window_bits=10",
        {.serverMax = 10});
    row("RFC 7692 §7.1.2.1: min(offer 9, ours 10)", "; server_max_window_bits=9", "; server_max_window_bits=9",
        {.serverMax = 10});
    row("RFC 7692 §7.1.2.2: client window 10, valueless offer → ours", "; client_max_window_bits",
        "; client_max_window_bits=10", {.clientMax = 10});
    row("RFC 7692 §7.1.2.2: client window min(offer 12, ours 10)", "; client_max_window_bits=12",
        "; client_max_window_bits=10", {.clientMax = 10});
    row("RFC 7692 §7.1.2.2: client window min(offer 9, ours 10)", "; client_max_window_bits=9",
        "; client_max_window_bits=9", {.clientMax = 10});
    row("RFC 7692 §7.1.2.2: client window 10 but not offered → declined", pmd, "", {.clientMax = 10});
    row("RFC 7692 §7.1.2.2: client window 10: skip the offer without it, take the next",
        "permessage-deflate, permessage-deflate; client_max_window_bits", "; client_max_window_bits=10",
        {.clientMax = 10});
    row("RFC 7692 §7.1.1.1: we force server_no_context_takeover", pmd, "; server_no_context_takeover",
        {.serverNct = true});
    row("RFC 7692 §7.1.1.2: we ask for client_no_context_takeover", pmd, "; client_no_context_takeover",
        {.clientNct = true});
}

void TestDeflate::negotiate()
{
    QFETCH(QString, offer);
    QFETCH(Opts, opts);
    QFETCH(QString, response);
    std::vector<ExtensionOffer> offers;
    QVERIFY(parseExtensionOffers(offer.toStdString(), offers));
    DeflateOptions options;
    options.enabled = opts.enabled;
    options.serverMaxWindowBits = opts.serverMax;
    options.clientMaxWindowBits = opts.clientMax;
    options.serverNoContextTakeover = opts.serverNct;
    options.clientNoContextTakeover = opts.clientNct;
    const auto params = negotiateDeflate(offers, options);
    QCOMPARE(params ? QString::fromStdString(formatDeflateResponse(*params)) : QString(), response);
}

void TestDeflate::negotiatedParams()
{
    std::vector<ExtensionOffer> offers;
    QVERIFY(parseExtensionOffers("permessage-deflate; server_max_window_bits=8; client_max_window_bits=9; "
                                 "client_no_context_takeover", offers));
    auto p = negotiateDeflate(offers, {});
    QVERIFY(p);
    QCOMPARE(p->serverMaxWindowBits, 8);
    QCOMPARE(p->clientMaxWindowBits, 9);
    QVERIFY(p->clientNoContextTakeover);
    QVERIFY(!p->serverNoContextTakeover);

    offers.clear();
    QVERIFY(parseExtensionOffers("permessage-deflate", offers));
    p = negotiateDeflate(offers, {});
    QVERIFY(p);
    QCOMPARE(p->serverMaxWindowBits, 15);
    QCOMPARE(p->clientMaxWindowBits, 15);   // §7.1.2.2: not offered → the client uses up to 15
    QVERIFY(!p->clientNoContextTakeover && !p->serverNoContextTakeover);

    QCOMPARE(negotiateDeflate({}, {}).has_value(), false);

    // Hand-built offers, for values the header parser would not produce.
    const std::vector<ExtensionOffer> built = {
        {"permessage-deflate", {{"server_max_window_bits", std::nullopt}}},       // declined: needs a value
        {"permessage-deflate", {{"server_max_window_bits", std::string()}}},      // declined: "" is no number
        {"permessage-deflate", {{"client_max_window_bits", std::string(" 9")}}},  // declined: not 1*DIGIT
        {"Permessage-Deflate", {}},                                                // another name
        {"permessage-deflate", {{"client_max_window_bits", std::string("8")}}},
    };
    p = negotiateDeflate(built, {});
    QVERIFY(p);
    QCOMPARE(p->clientMaxWindowBits, 8);
    QCOMPARE(formatDeflateResponse(*p), std::string("permessage-deflate; client_max_window_bits=8"));
}

// RFC 7692 §7.2.3: each example's payload(s) inflate to "Hello" (one message per element).
void TestDeflate::rfcExamplesInflate_data()
{
    QTest::addColumn<QStringList>("messages");   // hex; '|' separates the pieces of one message
    QTest::addColumn<QStringList>("expected");
    const QStringList hello{"Hello"};
    QTest::newRow("RFC 7692 §7.2.3.1: unfragmented") << QStringList{"f2 48 cd c9 c9 07 00"} << hello;
    QTest::newRow("RFC 7692 §7.2.3.1: fragmented") << QStringList{"f2 48 cd | c9 c9 07 00"} << hello;
    QTest::newRow("RFC 7692 §7.2.3.2: shared LZ77 window")
        << QStringList{"f2 48 cd c9 c9 07 00", "f2 00 11 00 00"} << QStringList{"Hello", "Hello"};
    QTest::newRow("RFC 7692 §7.2.3.3: no compression") << QStringList{"00 05 00 fa ff 48 65 6c 6c 6f 00"} << hello;
    QTest::newRow("RFC 7692 §7.2.3.4: block with BFINAL set") << QStringList{"f3 48 cd c9 c9 07 00 00"} << hello;
    QTest::newRow("RFC 7692 §7.2.3.5: two blocks") << QStringList{"f2 48 05 00 00 00 ff ff ca c9 c9 07 00"} << hello;
    QTest::newRow("RFC 7692 §7.2.3.6: empty last fragment") << QStringList{"f2 48 cd c9 c9 07 00 00 00 ff ff | 00"}
                                                            << hello;
}

void TestDeflate::rfcExamplesInflate()
{
    QFETCH(QStringList, messages);
    QFETCH(QStringList, expected);
    Inflater inf(15, false);
    for (int i = 0; i < messages.size(); ++i) {
        std::vector<std::string> pieces;
        for (const QString &p : messages[i].split('|'))
            pieces.push_back(fromHex(p.toStdString()));
        auto [e, out] = inflatePieces(inf, {pieces.begin(), pieces.end()});
        QCOMPARE(name(e), QStringLiteral("None"));
        QCOMPARE(QString::fromStdString(out), expected[i]);
    }
}

// RFC 7692 §7.2.3.1/§7.2.3.2 from the sending side: zlib at its default level gives the RFC's bytes.
void TestDeflate::rfcExamplesDeflate()
{
    Deflater shared(15, false, 6);
    QCOMPARE(toHex(deflateOne(shared, "Hello")), QByteArray("f2 48 cd c9 c9 07 00"));
    QCOMPARE(toHex(deflateOne(shared, "Hello")), QByteArray("f2 00 11 00 00"));
    Deflater fresh(15, true, 6);   // no context takeover: every message stands alone
    QCOMPARE(toHex(deflateOne(fresh, "Hello")), QByteArray("f2 48 cd c9 c9 07 00"));
    QCOMPARE(toHex(deflateOne(fresh, "Hello")), QByteArray("f2 48 cd c9 c9 07 00"));
}

// §7.2.3.4 then §7.2.3.2: after a BFINAL block the next message may still point into the window.
void TestDeflate::finalBlockKeepsContext()
{
    Inflater inf(15, false);
    QCOMPARE(inflateOne(inf, fromHex("f3 48 cd c9 c9 07 00 00")).second, std::string("Hello"));
    QCOMPARE(inflateOne(inf, fromHex("f2 00 11 00 00")).second, std::string("Hello"));
    QCOMPARE(inflateOne(inf, fromHex("f2 00 11 00 00")).second, std::string("Hello"));
    // Without context takeover the window is gone, so the back-reference is refused.
    Inflater nct(15, true);
    QCOMPARE(inflateOne(nct, fromHex("f3 48 cd c9 c9 07 00 00")).second, std::string("Hello"));
    QCOMPARE(name(inflateOne(nct, fromHex("f2 00 11 00 00")).first), QStringLiteral("InflateFailed"));
}

void TestDeflate::roundTrip_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("noContextTakeover");
    for (int bits = 8; bits <= 15; ++bits)
        for (bool nct : {false, true})
            QTest::addRow("§7.1.2 window %d bits, %s", bits, nct ? "no context takeover" : "context takeover")
                << bits << nct;
}

// Deflater(bits) → Inflater(bits) for a stream of messages of mixed kinds and sizes. With 8 bits the
// deflater runs zlib at 9 (see deflate.cpp) and the 256-byte inflate window must still suffice.
void TestDeflate::roundTrip()
{
    QFETCH(int, bits);
    QFETCH(bool, noContextTakeover);
    Deflater def(bits, noContextTakeover, 6);
    Inflater inf(bits, noContextTakeover);
    std::size_t wire = 0, plain = 0;
    for (unsigned i = 0; i < 60; ++i) {
        const std::string msg = i % 5 == 0 ? sampleText(10 + i * 37, i)
                                : i % 5 == 1 ? randomBytes(i * 11, i)
                                : i % 5 == 2 ? std::string(3000 + i, char('a' + i % 26))
                                : i % 5 == 3 ? sampleText(70000, 7)   // the same text again: context helps
                                             : std::string();
        const std::string z = deflateOne(def, msg);
        QVERIFY(!z.empty());
        wire += z.size();
        plain += msg.size();
        auto [e, out] = inflateOne(inf, z);
        QCOMPARE(name(e), QStringLiteral("None"));
        QVERIFY2(out == msg, qPrintable(QString("message %1 differs").arg(i)));
    }
    QVERIFY(wire < plain / 4);
}

// Against plain zlib doing exactly what RFC 7692 §7.2.1/§7.2.2 say, not against ourselves.
void TestDeflate::zlibInterop()
{
    QFETCH(int, bits);
    QFETCH(bool, noContextTakeover);
    const int zbits = std::max(bits, 9);   // zlib refuses to deflate raw with 8
    Inflater inf(bits, noContextTakeover);
    Deflater def(bits, noContextTakeover, 6);
    z_stream ref{};
    QCOMPARE(inflateInit2(&ref, -std::max(bits, 8)), Z_OK);
    std::string previous;
    for (unsigned i = 0; i < 20; ++i) {
        const std::string msg = sampleText(200 + i * 500, i % 3);
        // Theirs → our Inflater. With context takeover the previous message, preset as zlib's
        // dictionary, is the tail of the window the sender may refer back into.
        const std::string z = zlibCompress(msg, zbits, noContextTakeover ? std::string_view{} : previous);
        auto [e, out] = inflateOne(inf, z);
        QCOMPARE(name(e), QStringLiteral("None"));
        QVERIFY(out == msg);
        previous = msg;
        // Ours → plain zlib inflate.
        if (noContextTakeover)
            inflateReset(&ref);
        QVERIFY(zlibInflate(ref, deflateOne(def, msg)) == msg);
    }
    inflateEnd(&ref);
}

// §7.2.3.2: with context takeover a repeated message costs a few bytes; without, the full price.
void TestDeflate::contextTakeoverShrinksRepeats()
{
    Deflater shared(15, false, 6), fresh(15, true, 6);
    Inflater infShared(15, false), infFresh(15, true);
    std::size_t firstSize = 0, sharedTotal = 0, freshTotal = 0;
    for (int i = 0; i < 200; ++i) {
        const std::string msg = R"({"type":"tick","symbol":"QWS","bid":101.25,"ask":101.27,"seq":)"
                                + std::to_string(i) + "}";
        const std::string zs = deflateOne(shared, msg), zf = deflateOne(fresh, msg);
        QVERIFY(inflateOne(infShared, zs).second == msg);
        QVERIFY(inflateOne(infFresh, zf).second == msg);
        if (i == 0) {
            QCOMPARE(toHex(zs), toHex(zf));   // nothing to refer back to yet
            firstSize = zs.size();
        } else {
            QVERIFY2(zs.size() * 3 < firstSize, qPrintable(QString("message %1: %2 bytes").arg(i).arg(zs.size())));
            QVERIFY(zf.size() + 3 >= firstSize);
        }
        sharedTotal += zs.size();
        freshTotal += zf.size();
    }
    qInfo("200 ticks: %zu bytes with context takeover, %zu without", sharedTotal, freshTotal);
}

// A compressed message cut anywhere inflates the same: whole, at every split point, 1 byte at a time,
// and with the "last" flag on an extra empty piece. The second message refers back into the first.
void TestDeflate::everySplitPoint()
{
    const std::string first = sampleText(3000, 1), second = sampleText(2500, 1) + sampleText(500, 2);
    Deflater def(15, false, 6);
    const std::string z1 = deflateOne(def, first), z2 = deflateOne(def, second);
    QVERIFY(z2.size() < z1.size() / 2);   // it does refer back
    int runs = 0;
    for (const auto &c : qws::test::allChunkings(z2)) {
        for (bool emptyLast : {false, true}) {
            Inflater inf(15, false);
            QVERIFY(inflateOne(inf, z1).second == first);
            std::string out;
            Error e = Error::None;
            for (std::size_t i = 0; i < c.chunks.size() && e == Error::None; ++i)
                e = inf.inflate(bytes(c.chunks[i]), !emptyLast && i + 1 == c.chunks.size(), out, SIZE_MAX);
            if (emptyLast && e == Error::None)
                e = inf.inflate({}, true, out, SIZE_MAX);
            QVERIFY2(e == Error::None && out == second, c.name.c_str());
            ++runs;
        }
    }
    QVERIFY(runs > 2 * int(z2.size()));
}

// An empty message: our deflater sends 0x00 (RFC 7692 §7.2.3.6's empty block header); a payload with
// no bytes at all is also taken as empty, and neither disturbs the shared window.
void TestDeflate::emptyMessages()
{
    Deflater def(15, false, 6);
    QCOMPARE(toHex(deflateOne(def, "")), QByteArray("00"));
    const std::string hello = deflateOne(def, "Hello");
    QCOMPARE(toHex(deflateOne(def, "")), QByteArray("00"));
    const std::string again = deflateOne(def, "Hello");
    QCOMPARE(toHex(again), QByteArray("f2 00 11 00 00"));   // the window survived the empty messages
    Inflater inf(15, false);
    for (const std::string &payload : {std::string(), fromHex("00"), hello, std::string(), fromHex("00"), again}) {
        auto [e, out] = inflateOne(inf, payload);
        QCOMPARE(name(e), QStringLiteral("None"));
        QCOMPARE(out, payload.size() > 1 ? std::string("Hello") : std::string());
    }
}

void TestDeflate::largeMessages()
{
    const std::string msg = sampleText(3 << 20, 9) + randomBytes(1 << 20, 9);
    for (int bits : {9, 15}) {
        Deflater def(bits, false, 6);
        Inflater inf(bits, false);
        const std::string z = deflateOne(def, msg);
        QVERIFY(z.size() < msg.size());
        std::vector<std::string_view> pieces;
        for (std::size_t at = 0; at < z.size(); at += 65536)
            pieces.push_back(std::string_view(z).substr(at, 65536));
        auto [e, out] = inflatePieces(inf, pieces);
        QCOMPARE(name(e), QStringLiteral("None"));
        QVERIFY(out == msg);
        qInfo("%d bits: 4 MiB (3 text + 1 random) → %zu bytes", bits, z.size());
    }
    // Incompressible data grows only by the stored-block overhead.
    Deflater def(15, true, 6);
    const std::string noise = randomBytes(1 << 20, 3);
    QVERIFY(deflateOne(def, noise).size() < noise.size() + noise.size() / 1000 + 16);
}

// maxOutput counts what one call may append: exactly at the cap passes, one byte more fails.
void TestDeflate::capIsExact()
{
    const std::string msg(100000, 'x');
    Deflater def(15, true, 6);
    const std::string z = deflateOne(def, msg);
    for (std::size_t cap : {std::size_t(100000), std::size_t(99999), std::size_t(1), std::size_t(0)}) {
        Inflater inf(15, true);
        std::string out = "prefix";   // what is already there does not count
        const Error e = inf.inflate(bytes(z), true, out, cap);
        QCOMPARE(name(e), cap >= msg.size() ? QStringLiteral("None") : QStringLiteral("MessageTooBig"));
        QVERIFY(out.size() <= 6 + cap);
        if (e == Error::None)
            QVERIFY(out == "prefix" + msg);
        // After a failure the inflater starts clean: the next message is fine.
        QCOMPARE(inflateOne(inf, fromHex("f2 48 cd c9 c9 07 00")).second, std::string("Hello"));
    }
    Inflater inf(15, false);
    QCOMPARE(name(inflateOne(inf, fromHex("00"), 0).first), QStringLiteral("None"));
}

// A deflate bomb: ~110 KB that would inflate to 110 MiB (deflate tops out near 1032:1). With a
// 1 MiB cap it must stop after about 1 MiB of work, never holding more than the cap.
void TestDeflate::zipBomb()
{
    constexpr std::size_t kPlain = 110u << 20, kCap = 1u << 20;
    const std::string bomb = deflateBomb(kPlain);
    QVERIFY(bomb.size() < 150000);
    QCOMPARE(zlibInflatedSize(bomb), kPlain);   // it really is 110 MiB
    for (std::size_t piece : {bomb.size(), std::size_t(4096)}) {
        Inflater inf(15, false);
        std::string out;
        Error e = Error::None;
        std::size_t fed = 0;
        QElapsedTimer t;
        t.start();
        for (; fed < bomb.size() && e == Error::None; fed += piece) {
            const std::string_view p = std::string_view(bomb).substr(fed, piece);
            e = inf.inflate(bytes(p), fed + p.size() == bomb.size(), out, kCap - out.size());
        }
        const qint64 us = t.nsecsElapsed() / 1000;
        QCOMPARE(name(e), QStringLiteral("MessageTooBig"));
        QVERIFY(out.size() <= kCap);
        QVERIFY(out.capacity() <= 2 * kCap + 2 * 16384);
        QCOMPARE(fed, piece);   // refused on the first piece
        QVERIFY2(us < 500000, qPrintable(QString("%1 us").arg(us)));
        qInfo("bomb %zu bytes → 110 MiB, %zu-byte pieces: MessageTooBig after %lld us, %zu bytes out",
              bomb.size(), piece, qlonglong(us), out.size());
    }
}

void TestDeflate::corrupt_data()
{
    QTest::addColumn<QByteArray>("payload");
    auto raw = [](const std::string &s) { return QByteArray::fromStdString(s); };
    QTest::newRow("RFC 1951 §3.2.3: reserved block type 11") << raw(fromHex("07 00"));
    QTest::newRow("RFC 1951 §3.2.4: stored block LEN != ~NLEN")
        << raw(fromHex("00 05 00 05 00 48 65 6c 6c 6f"));
    QTest::newRow("RFC 1951 §3.2.5: distance before the start of the stream") << raw(fromHex("f2 00 11 00 00"));
    QTest::newRow("RFC 1950 zlib header instead of raw DEFLATE (RFC 7692 §7.2.2)")
        << raw(fromHex("78 9c f3 48 cd c9 c9 07 00 05 8c 01 f5"));
    QTest::newRow("garbage") << QByteArray(64, '\xff');
    const std::string text = sampleText(4000, 5);
    // DEFLATE has no checksum: a cut inside a Huffman block is caught only when the appended tail
    // does not happen to decode to the block's end. This cut (fixed input, fixed zlib) is caught.
    QTest::newRow("RFC 7692 §7.2.2: message cut early inside a Huffman block")
        << raw(zlibCompress(text).substr(0, 10));
    QTest::newRow("RFC 7692 §7.2.2: message cut inside a stored block")
        << raw(fromHex("00 0a 00 f5 ff 48 65 6c 6c 6f"));
    QTest::newRow("RFC 7692 §7.2.1: tail 00 00 ff ff not removed")
        << raw(fromHex("f2 48 cd c9 c9 07 00 00 00 ff ff"));
}

void TestDeflate::corrupt()
{
    QFETCH(QByteArray, payload);
    const std::string z = payload.toStdString();
    for (const auto &c : allChunkings(z)) {   // whole, every split point, 1 byte at a time
        Inflater inf(15, false);
        QVERIFY2(inflatePieces(inf, c.chunks).first == Error::InflateFailed, c.name.c_str());
    }
}

// §7.1.2.2: a client that agreed to 9 bits and refers 2000 bytes back into an earlier message is
// refused. (zlib checks distances against the window plus the output of the current call, so a far
// reference inside one message is not always caught; across messages it is.)
void TestDeflate::windowLimitAcrossMessages()
{
    const std::string far = randomBytes(2000, 4);
    const std::string first = zlibCompress(far, 15), second = zlibCompress(far, 15, far);
    QVERIFY(second.size() < 50);   // one long back-reference
    Inflater wide(15, false);
    QVERIFY(inflateOne(wide, first).second == far);
    QVERIFY(inflateOne(wide, second).second == far);
    Inflater narrow(9, false);
    QVERIFY(inflateOne(narrow, first).second == far);
    QCOMPARE(name(inflateOne(narrow, second).first), QStringLiteral("InflateFailed"));
}

QTEST_APPLESS_MAIN(TestDeflate)
#include "tst_deflate.moc"
