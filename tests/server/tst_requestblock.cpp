// SPDX-License-Identifier: BSD-3-Clause
// RequestBlock: every handshake comes back exactly as sent (names' spelling, order, repeats, values), the
// usual headers cost one byte each, and lookups ignore case like the handshake parser.
#include <requestblock_p.h>

#include <protocol/handshake.h>

#include <QtTest/QTest>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using qws::RequestBlock;
using qws::protocol::Header;
using Headers = std::vector<Header>;

Q_DECLARE_METATYPE(Headers)

namespace {

Headers decoded(const RequestBlock &block)
{
    Headers headers;
    block.forEachHeader([&headers](QByteArrayView name, QByteArrayView value) {
        headers.push_back({name.toByteArray().toStdString(), value.toByteArray().toStdString()});
        return true;
    });
    return headers;
}

std::size_t literalSize(const std::string &target, const std::string &subprotocol, const Headers &headers)
{
    std::size_t size = target.size() + subprotocol.size() + 2;
    for (const Header &header : headers)
        size += header.name.size() + header.value.size() + 2;
    return size;
}

// What bench/load's client sends (the idle-memory workload).
const Headers kLoadClient = {{"Host", "127.0.0.1:40123"},
                             {"Upgrade", "websocket"},
                             {"Connection", "Upgrade"},
                             {"Sec-WebSocket-Version", "13"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};

} // namespace

class tst_RequestBlock : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void usualHeadersCostOneByte();
    void lookupIgnoresCaseAndTakesTheFirst();
    void emptyBlock();
    void randomRequestsComeBackAsSent();
};

void tst_RequestBlock::roundTrip_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("subprotocol");
    QTest::addColumn<Headers>("headers");
    QTest::newRow("load client") << "/" << "" << kLoadClient;
    QTest::newRow("Chromium") << "/chat?room=1" << "chat.v2"
                              << Headers{{"Host", "localhost:8080"},
                                         {"Connection", "Upgrade"},
                                         {"Pragma", "no-cache"},
                                         {"Cache-Control", "no-cache"},
                                         {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120"},
                                         {"Upgrade", "websocket"},
                                         {"Origin", "http://localhost:8080"},
                                         {"Sec-WebSocket-Version", "13"},
                                         {"Accept-Encoding", "gzip, deflate, br"},
                                         {"Accept-Language", "en-US,en;q=0.9"},
                                         {"Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw=="},
                                         {"Sec-WebSocket-Extensions",
                                          "permessage-deflate; client_max_window_bits"},
                                         {"Sec-WebSocket-Protocol", "chat.v2, chat.v1"}};
    QTest::newRow("Firefox") << "/feed" << ""
                             << Headers{{"Host", "example.org"},
                                        {"Connection", "keep-alive, Upgrade"},
                                        {"Sec-WebSocket-Extensions", "permessage-deflate"},
                                        {"Upgrade", "websocket"}};
    QTest::newRow("names in other spellings, repeats, empty values")
            << "/x" << ""
            << Headers{{"host", "a"},
                       {"UPGRADE", "websocket"},
                       {"Upgrade", "WebSocket"},
                       {"X-Empty", ""},
                       {"Cookie", "a=1"},
                       {"Cookie", "b=2"},
                       {"Sec-WebSocket-Version", "8"},
                       {"X-Custom", "value with spaces\tand a tab"},
                       {"x", "y"}};
}

void tst_RequestBlock::roundTrip()
{
    QFETCH(QString, target);
    QFETCH(QString, subprotocol);
    QFETCH(Headers, headers);
    const RequestBlock block(target.toStdString(), subprotocol.toStdString(), headers);
    QCOMPARE(block.target().toByteArray(), target.toUtf8());
    QCOMPARE(block.subprotocol().toByteArray(), subprotocol.toUtf8());
    const Headers back = decoded(block);
    QCOMPARE(back.size(), headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        QCOMPARE(QByteArray::fromStdString(back[i].name), QByteArray::fromStdString(headers[i].name));
        QCOMPARE(QByteArray::fromStdString(back[i].value), QByteArray::fromStdString(headers[i].value));
    }
    QVERIFY(block.size() <= literalSize(target.toStdString(), subprotocol.toStdString(), headers) + 1);
}

void tst_RequestBlock::usualHeadersCostOneByte()
{
    const RequestBlock block("/", "", kLoadClient);
    // "/\0" "\0", Host code + "127.0.0.1:40123\0", three whole-header codes, Key code + 24 + 1, final '\0'.
    QCOMPARE(block.size(), std::size_t(3 + 17 + 3 + 26 + 1));
    QCOMPARE(literalSize("/", "", kLoadClient), std::size_t(129));   // what it cost written out
}

void tst_RequestBlock::lookupIgnoresCaseAndTakesTheFirst()
{
    const RequestBlock block("/", "", Headers{{"origin", "http://first"}, {"Origin", "http://second"},
                                              {"Host", "h"}, {"X-Custom", "v"}});
    QCOMPARE(block.header("Origin")->toByteArray(), QByteArray("http://first"));
    QCOMPARE(block.header("HOST")->toByteArray(), QByteArray("h"));
    QCOMPARE(block.header("x-custom")->toByteArray(), QByteArray("v"));
    QVERIFY(!block.header("Upgrade"));
}

void tst_RequestBlock::emptyBlock()
{
    const RequestBlock none;
    QVERIFY(none.target().isEmpty());
    QVERIFY(none.subprotocol().isEmpty());
    QVERIFY(decoded(none).empty());
    QVERIFY(!none.header("Host"));
    QCOMPARE(none.size(), std::size_t(0));
    const RequestBlock noHeaders("/", "", {});
    QCOMPARE(noHeaders.target().toByteArray(), QByteArray("/"));
    QVERIFY(decoded(noHeaders).empty());
    QCOMPARE(noHeaders.size(), std::size_t(4));
}

void tst_RequestBlock::randomRequestsComeBackAsSent()
{
    // Names: the common ones (also in other spellings) and random tokens; values: empty, common, random
    // field-value bytes (printable, space, tab, obs-text).
    const std::vector<std::string> names = {"Host", "host", "Upgrade", "Connection", "Sec-WebSocket-Key",
                                            "Sec-WebSocket-Version", "Origin", "Cookie", "Pragma",
                                            "Cache-Control", "Sec-WebSocket-Extensions", "X-Forwarded-For"};
    const std::vector<std::string> values = {"", "websocket", "Upgrade", "13", "no-cache",
                                             "keep-alive, Upgrade", "permessage-deflate; client_max_window_bits"};
    const std::string tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::uint32_t state = 12345;
    auto next = [&state](std::uint32_t bound) {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) % bound;
    };
    for (int round = 0; round < 500; ++round) {
        Headers headers;
        const std::uint32_t count = next(20);
        for (std::uint32_t i = 0; i < count; ++i) {
            Header header;
            if (next(2)) {
                header.name = names[next(std::uint32_t(names.size()))];
            } else {
                for (std::uint32_t n = 1 + next(12); n > 0; --n)
                    header.name += tchars[next(std::uint32_t(tchars.size()))];
            }
            if (next(2)) {
                header.value = values[next(std::uint32_t(values.size()))];
            } else {
                for (std::uint32_t n = next(40); n > 0; --n) {
                    const std::uint32_t pick = next(100);
                    header.value += pick == 0 ? '\t' : pick == 1 ? char(0x80 + next(0x80)) : char(0x20 + next(0x5f));
                }
            }
            headers.push_back(std::move(header));
        }
        const std::string target = "/" + std::to_string(round);
        const RequestBlock block(target, round % 3 ? "" : "proto", headers);
        QCOMPARE(block.target().toByteArray(), QByteArray::fromStdString(target));
        const Headers back = decoded(block);
        QCOMPARE(back.size(), headers.size());
        for (std::size_t i = 0; i < headers.size(); ++i) {
            QCOMPARE(QByteArray::fromStdString(back[i].name), QByteArray::fromStdString(headers[i].name));
            QCOMPARE(QByteArray::fromStdString(back[i].value), QByteArray::fromStdString(headers[i].value));
        }
    }
}

QTEST_APPLESS_MAIN(tst_RequestBlock)
#include "tst_requestblock.moc"
