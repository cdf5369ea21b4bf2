// SPDX-License-Identifier: BSD-3-Clause
// RequestParser against RFC 6455 §4.2.1 / RFC 7230 §3: every row whole, at every split point, byte by byte.
#include "protocol/handshake.h"

#include "chunks.h"
#include "framebuilder.h"
#include "offertext.h"

#include <QtTest/QtTest>

#include <algorithm>

using namespace qws::protocol;
using qws::test::allChunkings;
using qws::test::bytes;
using qws::test::formatOffers;
using Status = RequestParser::Status;

namespace qws::protocol {
// QTest failure messages (found by ADL).
char *toString(Error e) { return qstrdup(describe(e).data()); }
char *toString(RequestParser::Status s)
{
    return qstrdup(s == Status::NeedMore ? "NeedMore" : s == Status::Complete ? "Complete" : "Failed");
}
} // namespace qws::protocol

namespace {

// A browser request as Chromium sends it (permessage-deflate offer included).
const std::string kBrowserRequest =
    "GET /chat?room=1 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\nOrigin: http://localhost:8080\r\nSec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

// The RFC sample request with `line` (a header line, CRLF included) removed, or replaced by `with`.
std::string replaceLine(std::string request, std::string_view line, std::string_view with = {})
{
    const std::size_t at = request.find(line);
    if (at == std::string::npos)
        qFatal("test data: no \"%s\" to replace", std::string(line).c_str());
    request.replace(at, line.size(), with);
    return request;
}

std::string rfcRequest(std::string_view extra = {}) { return qws::test::upgradeRequest(extra); }

std::size_t longestLine(std::string_view s)
{
    std::size_t best = 0, start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n') {
            best = std::max(best, i + 1 - start);
            start = i + 1;
        }
    }
    return best;
}

std::size_t headerCount(std::string_view s)
{
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')) - 2; // request line, blank line
}


struct Outcome {
    Status status = Status::NeedMore;
    Error error = Error::None;
    std::size_t consumed = 0;
    Request request;
};

// Feeds the chunks in order until the parser stops asking for more; checks the per-call contract.
void feedChunks(const std::vector<std::string_view> &chunks, HandshakeLimits limits, Outcome &out)
{
    RequestParser parser(limits);
    for (std::string_view chunk : chunks) {
        std::size_t consumed = 12345;
        out.status = parser.feed(bytes(chunk), consumed);
        QVERIFY2(consumed <= chunk.size(), "consumed more than it was given");
        out.consumed += consumed;
        if (out.status == Status::NeedMore) {
            QCOMPARE(consumed, chunk.size()); // nothing is left behind while the header block is open
            continue;
        }
        std::size_t again = 12345; // done: later calls take nothing and repeat the verdict
        QCOMPARE(parser.feed(bytes("more"), again), out.status);
        QCOMPARE(again, std::size_t(0));
        break;
    }
    QCOMPARE(parser.status(), out.status);
    out.error = parser.error();
    if (out.status == Status::Complete)
        out.request = parser.request();
}

void compareRequests(const Request &a, const Request &b)
{
    QCOMPARE(a.method, b.method);
    QCOMPARE(a.target, b.target);
    QCOMPARE(a.path, b.path);
    QCOMPARE(a.query, b.query);
    QCOMPARE(a.httpMinor, b.httpMinor);
    auto pairs = [](const Request &r) {
        std::vector<std::pair<std::string, std::string>> v;
        for (const Header &h : r.headers)
            v.emplace_back(h.name, h.value);
        return v;
    };
    QVERIFY(pairs(a) == pairs(b));
    QCOMPARE(a.host, b.host);
    QCOMPARE(a.origin, b.origin);
    QCOMPARE(a.key, b.key);
    QCOMPARE(a.subprotocols, b.subprotocols);
    QCOMPARE(formatOffers(a.extensions), formatOffers(b.extensions));
}

HandshakeLimits limitsFrom(qsizetype bytes, qsizetype count, qsizetype line)
{
    HandshakeLimits l; // 0 in a table: the default
    l.maxHeaderBytes = bytes ? std::size_t(bytes) : l.maxHeaderBytes;
    l.maxHeaderCount = count ? std::size_t(count) : l.maxHeaderCount;
    l.maxLineLength = line ? std::size_t(line) : l.maxLineLength;
    return l;
}

} // namespace

class tst_Handshake : public QObject {
    Q_OBJECT
private slots:
    void valid_data();
    void valid();
    void invalid_data();
    void invalid();
    void incomplete_data();
    void incomplete();
    void notHttpFailsAtItsFirstByte();
    void headerLookup();
    void takeRequestAndEmptyFeed();
    void benchmarkBrowserRequest();
};

void tst_Handshake::valid_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<qsizetype>("maxBytes");   // 0: default limit
    QTest::addColumn<qsizetype>("maxCount");
    QTest::addColumn<qsizetype>("maxLine");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("query");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("origin");
    QTest::addColumn<QString>("subprotocols");
    QTest::addColumn<QString>("extensions");

    auto row = [](const char *name, const std::string &req, QString path, QString query, QString host,
                  QString origin, QString protocols = {}, QString extensions = {}, qsizetype maxBytes = 0,
                  qsizetype maxCount = 0, qsizetype maxLine = 0) {
        QTest::newRow(name) << QByteArray::fromStdString(req) << maxBytes << maxCount << maxLine << path << query
                            << host << origin << protocols << extensions;
    };
    const QString rfcHost = "server.example.com", rfcOrigin = "http://example.com";
    row("RFC 6455 §1.3: the RFC's sample request → 101", rfcRequest(), "/chat", "", rfcHost, rfcOrigin);
    row("RFC 6455 §4.1: Chromium browser request with permessage-deflate offer", kBrowserRequest, "/chat",
        "room=1", "localhost:8080", "http://localhost:8080", "", "permessage-deflate[client_max_window_bits]");
    row("RFC 6455 §4.2.1 item 4: Connection token list \"keep-alive, Upgrade\" (Firefox)",
        replaceLine(rfcRequest(), "Connection: Upgrade\r\n", "Connection: keep-alive, Upgrade\r\n"), "/chat", "",
        rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1: header names and Upgrade/Connection values are case-insensitive",
        "GET /chat HTTP/1.1\r\nHOST: h\r\nupgrade: WebSocket\r\nCONNECTION: upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\norigin: o\r\n\r\n",
        "/chat", "", "h", "o");
    row("RFC 7230 §3.5: bare LF line endings are tolerated",
        "GET /chat HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
        "/chat", "", "h", "");
    row("RFC 7230 §3.5: an empty line before the request-line is ignored", "\r\n" + rfcRequest(), "/chat", "",
        rfcHost, rfcOrigin);
    row("RFC 6455 §3: the query is split from the path", qws::test::upgradeRequest({}, "/a/b?x=1&y=?"), "/a/b",
        "x=1&y=?", rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1 item 1: absolute-form URI yields its resource name",
        qws::test::upgradeRequest({}, "http://server.example.com/chat?v=2"), "/chat", "v=2", rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1 item 1: absolute-form URI without a path → /",
        qws::test::upgradeRequest({}, "wss://server.example.com"), "/", "", rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1 item 1: HTTP/1.2 is \"1.1 or higher\"",
        replaceLine(rfcRequest(), "HTTP/1.1\r\n", "HTTP/1.2\r\n"), "/chat", "", rfcHost, rfcOrigin);
    row("RFC 6455 §11.3.4: Sec-WebSocket-Protocol from several headers, in order",
        rfcRequest("Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: v2.json,,\r\n"), "/chat",
        "", rfcHost, rfcOrigin, "chat,superchat,v2.json");
    row("RFC 6455 §9.1: extension offers from several headers, quoted parameter unquoted",
        rfcRequest("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=\"10\", foo\r\n"
                   "sec-websocket-extensions: x-webkit-deflate-frame\r\n"),
        "/chat", "", rfcHost, rfcOrigin, "",
        "permessage-deflate[client_max_window_bits=10] | foo | x-webkit-deflate-frame");
    row("RFC 7230 §3.2: OWS around field values is trimmed, empty values allowed",
        replaceLine(rfcRequest("X-Empty:\r\n"), "Host: server.example.com\r\n", "Host: \t server.example.com \t\r\n"),
        "/chat", "", rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1 item 6: Sec-WebSocket-Version \" 13 \" with OWS",
        replaceLine(rfcRequest(), "Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version:  13 \r\n"), "/chat", "",
        rfcHost, rfcOrigin);
    row("RFC 6455 §4.2.1 item 7: no Origin from a non-browser client",
        replaceLine(rfcRequest(), "Origin: http://example.com\r\n"), "/chat", "", rfcHost, "");
    row("RFC 6455 §4.2.1 item 7: Sec-WebSocket-Origin (older drafts) as the origin",
        replaceLine(rfcRequest(), "Origin: http://example.com\r\n", "Sec-WebSocket-Origin: http://old.example\r\n"),
        "/chat", "", rfcHost, "http://old.example");
    row("RFC 6455 §4.2.1 item 3: Upgrade list \"websocket, h2c\"",
        replaceLine(rfcRequest(), "Upgrade: websocket\r\n", "Upgrade: websocket, h2c\r\n"), "/chat", "", rfcHost,
        rfcOrigin);
    const std::string r = rfcRequest();
    row("limit: header block of exactly maxHeaderBytes", r, "/chat", "", rfcHost, rfcOrigin, "", "",
        qsizetype(r.size()));
    row("limit: exactly maxHeaderCount headers", r, "/chat", "", rfcHost, rfcOrigin, "", "", 0,
        qsizetype(headerCount(r)));
    row("limit: longest line exactly maxLineLength (CRLF included)", r, "/chat", "", rfcHost, rfcOrigin, "", "",
        0, 0, qsizetype(longestLine(r)));
}

void tst_Handshake::valid()
{
    QFETCH(QByteArray, request);
    QFETCH(qsizetype, maxBytes);
    QFETCH(qsizetype, maxCount);
    QFETCH(qsizetype, maxLine);
    const HandshakeLimits limits = limitsFrom(maxBytes, maxCount, maxLine);
    // RFC 6455 §5.2: a client may send its first frame in the same read as the request.
    const std::string trailing = qws::test::textFrame("Hello") + qws::test::pingFrame("p");
    const std::string input = request.toStdString() + trailing;

    Outcome whole;
    feedChunks({input}, limits, whole);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(whole.status, Status::Complete);
    QCOMPARE(whole.error, Error::None);
    QCOMPARE(whole.consumed, std::size_t(request.size())); // stops right after the blank line
    QCOMPARE(input.substr(whole.consumed), trailing);
    const Request &r = whole.request;
    QCOMPARE(r.method, std::string("GET"));
    QCOMPARE(r.key, std::string("dGhlIHNhbXBsZSBub25jZQ=="));
    QTEST(QString::fromStdString(r.path), "path");
    QTEST(QString::fromStdString(r.query), "query");
    QTEST(QString::fromStdString(r.host), "host");
    QTEST(QString::fromStdString(r.origin), "origin");
    QStringList protocols;
    for (const std::string &p : r.subprotocols)
        protocols << QString::fromStdString(p);
    QTEST(protocols.join(','), "subprotocols");
    QTEST(formatOffers(r.extensions), "extensions");

    for (const auto &chunking : allChunkings(input)) {
        Outcome split;
        feedChunks(chunking.chunks, limits, split);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QString::fromStdString(chunking.name)));
        QVERIFY2(split.status == Status::Complete, chunking.name.c_str());
        QCOMPARE(split.consumed, whole.consumed);
        compareRequests(split.request, whole.request);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QString::fromStdString(chunking.name)));
    }
}

void tst_Handshake::invalid_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<qsizetype>("maxBytes");
    QTest::addColumn<qsizetype>("maxCount");
    QTest::addColumn<qsizetype>("maxLine");
    QTest::addColumn<Error>("error");
    QTest::addColumn<int>("httpStatus");

    auto row = [](const char *name, const std::string &req, Error e, int status, qsizetype maxBytes = 0,
                  qsizetype maxCount = 0, qsizetype maxLine = 0) {
        QTest::newRow(name) << QByteArray::fromStdString(req) << maxBytes << maxCount << maxLine << e << status;
    };
    const std::string r = rfcRequest();
    auto swap = [&](std::string_view line, std::string_view with = {}) { return replaceLine(r, line, with); };
    const std::string_view keyLine = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const std::string_view versionLine = "Sec-WebSocket-Version: 13\r\n";

    // Request line (RFC 6455 §4.2.1 item 1, RFC 7230 §3.1.1)
    row("RFC 6455 §4.2.1 item 1: POST → 405", swap("GET ", "POST "), Error::HandshakeMethodNotAllowed, 405);
    row("RFC 6455 §4.2.1 item 1: HEAD → 405", swap("GET ", "HEAD "), Error::HandshakeMethodNotAllowed, 405);
    row("RFC 7230 §3.2.6: every tchar in a method passes the first-byte screen → 405",
        swap("GET ", "M-SEARCH.!#$%&'*+^_`|~09az "), Error::HandshakeMethodNotAllowed, 405);
    row("RFC 7230 §3.1.1: methods are case-sensitive, \"get\" → 405", swap("GET ", "get "),
        Error::HandshakeMethodNotAllowed, 405);
    row("RFC 6455 §4.2.1 item 1: HTTP/1.0 → 400", swap("HTTP/1.1", "HTTP/1.0"), Error::HandshakeBadHttpVersion, 400);
    row("RFC 6455 §4.2.1 item 1: HTTP/0.9 → 400", swap("HTTP/1.1", "HTTP/0.9"), Error::HandshakeBadHttpVersion, 400);
    row("RFC 6455 §4.2.1 item 1: HTTP/1.0 is checked before the method → 400",
        replaceLine(swap("GET ", "POST "), "HTTP/1.1", "HTTP/1.0"), Error::HandshakeBadHttpVersion, 400);
    row("RFC 7230 §3.1.1: request line without version → 400", swap("GET /chat HTTP/1.1", "GET /chat"),
        Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.1.1: two spaces in the request line → 400", swap("GET /chat", "GET  /chat"),
        Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.1.1: trailing space after the version → 400", swap("HTTP/1.1\r\n", "HTTP/1.1 \r\n"),
        Error::HandshakeMalformed, 400);
    row("RFC 7230 §2.6: \"HTTQ/1.1\" → 400", swap("HTTP/1.1", "HTTQ/1.1"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §2.6: two-digit minor version → 400", swap("HTTP/1.1", "HTTP/1.10"), Error::HandshakeMalformed, 400);
    row("RFC 6455 §4.1: request-target \"*\" → 400", swap("/chat", "*"), Error::HandshakeMalformed, 400);
    row("RFC 6455 §4.1: request-target without leading / → 400", swap("/chat", "chat"), Error::HandshakeMalformed, 400);
    row("RFC 6455 §4.1: ftp:// absolute URI → 400", swap("/chat", "ftp://x/chat"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.1.1: a non-token method → 400", swap("GET ", "G(T "), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.5: binary garbage line (a TLS record header) → 400",
        std::string("\x16\x03\x01\x02\x00\x01\r\n\r\n", 10), Error::HandshakeTlsOnPlainPort, 400);

    // Not HTTP at all: refused at the first byte that cannot begin or continue a method, no LF needed
    // (RFC 7230 §3.1.1 method = token), so a peer speaking another protocol gets its 400 at once.
    const std::string clientHello = std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)
                                    + std::string(32, '\x5a');
    row("fail fast: a TLS ClientHello (wss:// to a ws:// port), no LF → 400", clientHello,
        Error::HandshakeTlsOnPlainPort, 400);
    row("fail fast: a TLS ClientHello after an empty line → 400", "\r\n" + clientHello,
        Error::HandshakeTlsOnPlainPort, 400);
    row("fail fast: a TLS ClientHello under a tiny line limit still names TLS → 400", clientHello,
        Error::HandshakeTlsOnPlainPort, 400, 0, 0, 4);
    row("fail fast: a NUL first byte → 400", std::string("\0GET / HTTP/1.1", 15), Error::HandshakeNotHttp, 400);
    row("fail fast: an SSLv2-style first byte 0x80 → 400", std::string("\x80\x2e\x01\x00\x02"),
        Error::HandshakeNotHttp, 400);
    row("fail fast: JSON instead of a request → 400", "{\"hello\": 1}", Error::HandshakeNotHttp, 400);
    row("fail fast: a space before the method → 400", " GET /chat HTTP/1.1", Error::HandshakeNotHttp, 400);
    row("fail fast: a control byte inside the method → 400", std::string("GE\x01T /chat", 10),
        Error::HandshakeMalformed, 400);
    row("fail fast: a CR not followed by LF before the method → 400", "\rGET /chat", Error::HandshakeMalformed, 400);
    row("fail fast: a second CR before the LF of an empty line → 400", "\r\r", Error::HandshakeMalformed, 400);

    // Header syntax (RFC 7230 §3.2)
    row("RFC 7230 §3.2: header line without a colon → 400", rfcRequest("NoColonHere\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2.4: whitespace before the colon → 400", swap("Host: ", "Host : "), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2.4: obs-fold continuation line → 400", rfcRequest("X-Folded: a\r\n  b\r\n"),
        Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2.4: obs-fold with a tab → 400", rfcRequest("X-Folded: a\r\n\tb\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2: NUL in a field value → 400", rfcRequest(std::string("X-Nul: a\0b\r\n", 12)),
        Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2: bare CR inside a field value → 400", rfcRequest("X-Cr: a\rb\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2.6: non-token header name → 400", rfcRequest("X(y): 1\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 7230 §3.2: empty header name → 400", rfcRequest(": 1\r\n"), Error::HandshakeMalformed, 400);

    // Host (RFC 6455 §4.2.1 item 2)
    row("RFC 6455 §4.2.1 item 2: missing Host → 400", swap("Host: server.example.com\r\n"),
        Error::HandshakeMissingHost, 400);
    row("RFC 6455 §4.2.1 item 2: empty Host → 400", swap("Host: server.example.com\r\n", "Host: \r\n"),
        Error::HandshakeMissingHost, 400);
    row("RFC 7230 §5.4: two Host headers → 400", rfcRequest("Host: other.example\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 6455 §4.2.1: checks in the RFC's order, Host first → 400",
        "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", Error::HandshakeMissingHost, 400);

    // Upgrade / Connection (items 3, 4)
    row("RFC 6455 §4.2.1 item 3: missing Upgrade → 400", swap("Upgrade: websocket\r\n"), Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1 item 3: Upgrade: h2c → 400", swap("Upgrade: websocket", "Upgrade: h2c"),
        Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1 item 3: Upgrade: websockets (not the token) → 400", swap("Upgrade: websocket", "Upgrade: websockets"),
        Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1 item 4: missing Connection → 400", swap("Connection: Upgrade\r\n"), Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1 item 4: Connection: keep-alive → 400", swap("Connection: Upgrade", "Connection: keep-alive"),
        Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1 item 4: Connection: Upgraded (a substring is not the token) → 400",
        swap("Connection: Upgrade", "Connection: Upgraded"), Error::HandshakeNotUpgrade, 400);
    row("RFC 6455 §4.2.1: a plain HTTP GET → 400", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", Error::HandshakeNotUpgrade, 400);

    // Sec-WebSocket-Key (item 5)
    row("RFC 6455 §4.2.1 item 5: missing Sec-WebSocket-Key → 400", swap(keyLine), Error::HandshakeBadKey, 400);
    row("RFC 6455 §4.2.1 item 5: key of 15 bytes → 400", swap(keyLine, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"),
        Error::HandshakeBadKey, 400);
    row("RFC 6455 §4.2.1 item 5: key of 17 bytes → 400",
        swap(keyLine, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"), Error::HandshakeBadKey, 400);
    row("RFC 6455 §4.2.1 item 5: key not base64 → 400",
        swap(keyLine, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!Q==\r\n"), Error::HandshakeBadKey, 400);
    row("RFC 6455 §4.2.1 item 5: key with misplaced padding → 400",
        swap(keyLine, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=A\r\n"), Error::HandshakeBadKey, 400);
    row("RFC 6455 §4.2.1 item 5: empty key → 400", swap(keyLine, "Sec-WebSocket-Key:\r\n"), Error::HandshakeBadKey, 400);
    row("RFC 6455 §11.3.1: Sec-WebSocket-Key twice → 400", rfcRequest("Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"),
        Error::HandshakeBadKey, 400);

    // Sec-WebSocket-Version (item 6, §4.4)
    row("RFC 6455 §4.2.1 item 6: missing Sec-WebSocket-Version → 426", swap(versionLine), Error::HandshakeBadVersion, 426);
    row("RFC 6455 §4.4: Sec-WebSocket-Version: 8 → 426", swap(versionLine, "Sec-WebSocket-Version: 8\r\n"),
        Error::HandshakeBadVersion, 426);
    row("RFC 6455 §4.4: Sec-WebSocket-Version: 13, 8 → 426", swap(versionLine, "Sec-WebSocket-Version: 13, 8\r\n"),
        Error::HandshakeBadVersion, 426);
    row("RFC 6455 §4.1 item 9: Sec-WebSocket-Version twice → 426", rfcRequest("Sec-WebSocket-Version: 13\r\n"),
        Error::HandshakeBadVersion, 426);
    row("RFC 6455 §4.4: version is checked before the key → 426",
        replaceLine(swap(keyLine), versionLine, "Sec-WebSocket-Version: 8\r\n"), Error::HandshakeBadVersion, 426);

    // Subprotocols and extensions (items 8, 9)
    row("RFC 6455 §4.1 item 10: subprotocol that is not a token → 400", rfcRequest("Sec-WebSocket-Protocol: chat room\r\n"),
        Error::HandshakeMalformed, 400);
    row("RFC 6455 §9.1: extension with a dangling ';' → 400", rfcRequest("Sec-WebSocket-Extensions: permessage-deflate;\r\n"),
        Error::HandshakeMalformed, 400);
    row("RFC 6455 §9.1: quoted extension value that is not a token → 400",
        rfcRequest("Sec-WebSocket-Extensions: foo; x=\"a b\"\r\n"), Error::HandshakeMalformed, 400);
    row("RFC 6455 §9.1: unterminated quoted extension value → 400",
        rfcRequest("Sec-WebSocket-Extensions: foo; x=\"10\r\n"), Error::HandshakeMalformed, 400);

    // Limits
    row("limit: header block one byte over maxHeaderBytes → 400", r, Error::HandshakeTooLarge, 400, qsizetype(r.size() - 1));
    row("limit: one header over maxHeaderCount → 400", r, Error::HandshakeTooLarge, 400, 0, qsizetype(headerCount(r) - 1));
    row("limit: a line one byte over maxLineLength → 400", r, Error::HandshakeTooLarge, 400, 0, 0,
        qsizetype(longestLine(r) - 1));
    row("limit: 20 KiB of headers over the default 16 KiB → 400",
        rfcRequest("X-Big: " + std::string(7000, 'a') + "\r\nX-Big: " + std::string(7000, 'b') + "\r\nX-Big: "
                   + std::string(7000, 'c') + "\r\n"),
        Error::HandshakeTooLarge, 400);
    row("limit: a 9 KiB line over the default 8 KiB → 400", rfcRequest("X-Big: " + std::string(9000, 'a') + "\r\n"),
        Error::HandshakeTooLarge, 400);
    row("limit: a line without LF is refused once over the limit → 400", "GET /" + std::string(300, 'a'),
        Error::HandshakeTooLarge, 400, 0, 0, 200);
    row("limit: endless empty lines before the request-line → 400", std::string(300, '\n'), Error::HandshakeTooLarge,
        400, 256);
    row("limit: a line over the limit wins over its bad syntax → 400", "GET /chat\r\n" + rfcRequest(),
        Error::HandshakeTooLarge, 400, 0, 0, 8);
}

void tst_Handshake::invalid()
{
    QFETCH(QByteArray, request);
    QFETCH(qsizetype, maxBytes);
    QFETCH(qsizetype, maxCount);
    QFETCH(qsizetype, maxLine);
    QFETCH(Error, error);
    QFETCH(int, httpStatus);
    const HandshakeLimits limits = limitsFrom(maxBytes, maxCount, maxLine);
    const std::string input = request.toStdString();

    QCOMPARE(httpStatusFor(error), httpStatus);
    for (const auto &chunking : allChunkings(input)) {
        Outcome o;
        feedChunks(chunking.chunks, limits, o);
        if (QTest::currentTestFailed())
            QFAIL(qPrintable(QString::fromStdString(chunking.name)));
        QVERIFY2(o.status == Status::Failed, chunking.name.c_str());
        QVERIFY2(o.error == error, (chunking.name + ": " + std::string(describe(o.error))).c_str());
    }
}

void tst_Handshake::incomplete_data()
{
    QTest::addColumn<QByteArray>("request");
    const std::string r = rfcRequest();
    QTest::newRow("RFC 7230 §3: nothing yet") << QByteArray();
    QTest::newRow("RFC 7230 §3: request line only") << QByteArray("GET /chat HTTP/1.1\r\n");
    QTest::newRow("RFC 7230 §3: headers without the blank line")
        << QByteArray::fromStdString(r.substr(0, r.size() - 2));
    QTest::newRow("RFC 7230 §3: blank line missing its LF") << QByteArray::fromStdString(r.substr(0, r.size() - 1));
    QTest::newRow("RFC 7230 §3.5: only empty lines so far") << QByteArray("\r\n\r\n\n");
}

void tst_Handshake::incomplete()
{
    QFETCH(QByteArray, request);
    const std::string input = request.toStdString();
    for (const auto &chunking : allChunkings(input)) {
        Outcome o;
        feedChunks(chunking.chunks, {}, o);
        QVERIFY2(o.status == Status::NeedMore, chunking.name.c_str());
        QCOMPARE(o.consumed, input.size()); // taken and kept: the caller need not hold on to them
        QCOMPARE(o.error, Error::None);
    }
}

// Fail fast: the verdict comes with the first byte, not after a line that a TLS client never ends.
void tst_Handshake::notHttpFailsAtItsFirstByte()
{
    RequestParser tls;
    std::size_t consumed = 0;
    QCOMPARE(tls.feed(bytes(std::string_view("\x16", 1)), consumed), Status::Failed);
    QCOMPARE(consumed, std::size_t(1));
    QCOMPARE(tls.error(), Error::HandshakeTlsOnPlainPort);
    QCOMPARE(httpStatusFor(tls.error()), 400);
    // The text an operator reads in the 400 body and the logs names the likely mistake.
    QVERIFY(describe(tls.error()).find("TLS ClientHello") != std::string_view::npos);
    QVERIFY(describe(tls.error()).find("wss://") != std::string_view::npos);

    RequestParser binary;
    QCOMPARE(binary.feed(bytes(std::string_view("\r\n\xff", 3)), consumed), Status::Failed);
    QCOMPARE(consumed, std::size_t(3));   // the empty line, then the bad byte
    QCOMPARE(binary.error(), Error::HandshakeNotHttp);

    RequestParser method;   // "GET" then a byte that no method may hold: refused before any LF
    QCOMPARE(method.feed(bytes("GE"), consumed), Status::NeedMore);
    QCOMPARE(method.feed(bytes(std::string_view("T\x7f", 2)), consumed), Status::Failed);
    QCOMPARE(consumed, std::size_t(2));
    QCOMPARE(method.error(), Error::HandshakeMalformed);
}

void tst_Handshake::headerLookup()
{
    RequestParser p;
    std::size_t consumed = 0;
    const std::string in = rfcRequest("X-Multi: one\r\nx-multi: two\r\n");
    QCOMPARE(p.feed(bytes(in), consumed), Status::Complete);
    const Request &r = p.request();
    QCOMPARE(r.value("SEC-WEBSOCKET-KEY"), std::optional<std::string_view>("dGhlIHNhbXBsZSBub25jZQ=="));
    QCOMPARE(r.value("x-multi"), std::optional<std::string_view>("one"));
    QCOMPARE(r.value("X-Absent"), std::optional<std::string_view>());
    QCOMPARE(r.values("X-MULTI"), (std::vector<std::string_view>{"one", "two"}));
    QVERIFY(r.values("X-Absent").empty());
    QCOMPARE(r.headers.front().name, std::string("Host")); // names kept as sent, in arrival order
    QCOMPARE(r.headers.back().name, std::string("x-multi"));
}

void tst_Handshake::takeRequestAndEmptyFeed()
{
    RequestParser p;
    std::size_t consumed = 99;
    QCOMPARE(p.feed({}, consumed), Status::NeedMore); // an empty read changes nothing
    QCOMPARE(consumed, std::size_t(0));
    QCOMPARE(p.error(), Error::None);
    const std::string in = rfcRequest();
    QCOMPARE(p.feed(bytes(in), consumed), Status::Complete);
    const Request taken = p.takeRequest();
    QCOMPARE(taken.key, std::string("dGhlIHNhbXBsZSBub25jZQ=="));
    QCOMPARE(taken.path, std::string("/chat"));
    QCOMPARE(p.status(), Status::Complete);
}

// One realistic browser request per iteration (bench/ holds the tracked numbers).
void tst_Handshake::benchmarkBrowserRequest()
{
    std::size_t consumed = 0;
    Status s = Status::NeedMore;
    QBENCHMARK {
        RequestParser p;
        s = p.feed(bytes(kBrowserRequest), consumed);
    }
    QCOMPARE(s, Status::Complete);
    QCOMPARE(consumed, kBrowserRequest.size());
}

QTEST_APPLESS_MAIN(tst_Handshake)
#include "tst_handshake.moc"
