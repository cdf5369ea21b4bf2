// SPDX-License-Identifier: BSD-3-Clause
// Handshake responses (RFC 6455 §4.2.2, §4.4) and the Error tables behind them (§7.4, errors.h).
#include "protocol/errors.h"
#include "protocol/handshake.h"
#include "protocol/response.h"

#include "chunks.h"
#include "framebuilder.h"
#include "httpresponse.h"

#include <QtTest/QtTest>

#include <set>

using namespace qws::protocol;
using qws::test::ParsedResponse;
using qws::test::parseResponse;

namespace qws::protocol {
char *toString(Error e) { return qstrdup(describe(e).data()); } // QTest messages, found by ADL
} // namespace qws::protocol

namespace {

} // namespace

class tst_Response : public QObject {
    Q_OBJECT
private slots:
    void acceptKey_data();
    void acceptKey();
    void acceptResponseExact();
    void acceptResponseOptionalHeaders();
    void acceptResponseNoHeaderInjection();
    void acceptsParsedRequest();
    void errorResponse_data();
    void errorResponse();
    void errorResponseCustomReasonAndServer();
    void closeCodes_data();
    void closeCodes();
    void wireCloseCodes_data();
    void wireCloseCodes();
    void describeIsShortAndDistinct();
};

void tst_Response::acceptKey_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QByteArray>("accept");
    QTest::newRow("RFC 6455 §1.3: the RFC's sample key") << QByteArray("dGhlIHNhbXBsZSBub25jZQ==")
                                                         << QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: a second key") << QByteArray("x3JJHMbDL1EzLkh9GBhXDw==")
                                                             << QByteArray("HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    // Values an independent SHA-1 (Python hashlib) gives; the key is hashed as sent, even when odd.
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: empty key") << QByteArray() << QByteArray("Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");
    QTest::newRow("RFC 6455 §4.2.2 item 5.4: a key longer than 64 bytes")
        << QByteArray(100, 'k') << QByteArray("rWzVOVhJgr+k5nChyKqRW0+OIwk=");
}

void tst_Response::acceptKey()
{
    QFETCH(QByteArray, key);
    QFETCH(QByteArray, accept);
    QCOMPARE(QByteArray::fromStdString(computeAcceptKey(key.toStdString())), accept);
}

void tst_Response::acceptResponseExact()
{
    // RFC 6455 §1.3 / §4.2.2 item 5: the RFC's own example, header for header.
    QCOMPARE(buildAcceptResponse({.key = "dGhlIHNhbXBsZSBub25jZQ=="}),
             std::string("HTTP/1.1 101 Switching Protocols\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                         "\r\n"));
}

void tst_Response::acceptResponseOptionalHeaders()
{
    const ParsedResponse r = parseResponse(buildAcceptResponse({.key = "dGhlIHNhbXBsZSBub25jZQ==",
                                                        .subprotocol = "chat",
                                                        .extensions = "permessage-deflate; server_no_context_takeover",
                                                        .serverName = "QuickWebSockets/0.1"}));
    QVERIFY(r.wellFormed);
    QCOMPARE(r.statusLine, QByteArray("HTTP/1.1 101 Switching Protocols"));
    QCOMPARE(r.header("Sec-WebSocket-Accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    QCOMPARE(r.header("Sec-WebSocket-Protocol"), QByteArray("chat"));
    QCOMPARE(r.header("Sec-WebSocket-Extensions"), QByteArray("permessage-deflate; server_no_context_takeover"));
    QCOMPARE(r.header("Server"), QByteArray("QuickWebSockets/0.1"));
    QVERIFY(r.body.isEmpty()); // a 101 has no body: frames follow the blank line

    // Empty optional values: no header at all (§4.2.2 item 5.4: no subprotocol → no field).
    const ParsedResponse bare = parseResponse(buildAcceptResponse({.key = "x3JJHMbDL1EzLkh9GBhXDw=="}));
    QVERIFY(bare.wellFormed);
    QCOMPARE(bare.count("Sec-WebSocket-Protocol"), 0);
    QCOMPARE(bare.count("Sec-WebSocket-Extensions"), 0);
    QCOMPARE(bare.count("Server"), 0);
    QCOMPARE(bare.headers.size(), 3);
}

void tst_Response::acceptResponseNoHeaderInjection()
{
    const std::string out = buildAcceptResponse({.key = "dGhlIHNhbXBsZSBub25jZQ==",
                                                 .serverName = "evil\r\nSet-Cookie: a=b\r\n\r\nbody"});
    const ParsedResponse r = parseResponse(out);
    QVERIFY(r.wellFormed);
    QCOMPARE(r.count("Set-Cookie"), 0);
    QVERIFY(r.body.isEmpty());
    QCOMPARE(r.header("Server"), QByteArray("evilSet-Cookie: a=bbody"));
}

void tst_Response::acceptsParsedRequest()
{
    // The parser's key goes straight into the response: RFC 6455 §1.3 end to end.
    RequestParser p;
    std::size_t consumed = 0;
    const std::string request = qws::test::upgradeRequest();
    QCOMPARE(p.feed(qws::test::bytes(request), consumed), RequestParser::Status::Complete);
    const ParsedResponse r = parseResponse(buildAcceptResponse({.key = p.request().key}));
    QCOMPARE(r.header("Sec-WebSocket-Accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

void tst_Response::errorResponse_data()
{
    QTest::addColumn<Error>("error");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("statusLine");

    QTest::newRow("RFC 7230 §3: malformed → 400") << Error::HandshakeMalformed << 400 << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1: too large → 400") << Error::HandshakeTooLarge << 400 << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1 item 1: HTTP/1.0 → 400") << Error::HandshakeBadHttpVersion << 400
                                                           << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1 item 2: missing Host → 400") << Error::HandshakeMissingHost << 400
                                                               << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1 items 3-4: not an upgrade → 400") << Error::HandshakeNotUpgrade << 400
                                                                    << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1 item 5: bad key → 400") << Error::HandshakeBadKey << 400
                                                          << QByteArray("HTTP/1.1 400 Bad Request");
    QTest::newRow("RFC 6455 §4.2.1 item 1: not GET → 405") << Error::HandshakeMethodNotAllowed << 405
                                                          << QByteArray("HTTP/1.1 405 Method Not Allowed");
    QTest::newRow("RFC 6455 §4.4: bad version → 426") << Error::HandshakeBadVersion << 426
                                                     << QByteArray("HTTP/1.1 426 Upgrade Required");
    QTest::newRow("RFC 6455 §4.2.2 item 4: origin refused → 403") << Error::HandshakeOriginRefused << 403
                                                                 << QByteArray("HTTP/1.1 403 Forbidden");
    QTest::newRow("RFC 7231 §6.6.4: server full → 503") << Error::HandshakeServerFull << 503
                                                       << QByteArray("HTTP/1.1 503 Service Unavailable");
    QTest::newRow("RFC 7231 §6.5.7: handshake timeout → 408") << Error::HandshakeTimeout << 408
                                                             << QByteArray("HTTP/1.1 408 Request Timeout");
}

void tst_Response::errorResponse()
{
    QFETCH(Error, error);
    QFETCH(int, status);
    QFETCH(QByteArray, statusLine);

    QCOMPARE(httpStatusFor(error), status);
    QCOMPARE(closeCodeFor(error), std::uint16_t(0)); // handshake errors never become close frames
    const ParsedResponse r = parseResponse(buildErrorResponse(error));
    QVERIFY(r.wellFormed);
    QCOMPARE(r.statusLine, statusLine);
    QVERIFY(r.header("Content-Type").startsWith("text/plain"));
    QCOMPARE(r.header("Content-Length"), QByteArray::number(r.body.size()));
    QCOMPARE(r.header("Connection"), QByteArray("close"));
    QCOMPARE(r.body, QByteArray::fromStdString(std::string(describe(error))));
    QVERIFY(!r.body.isEmpty());
    QCOMPARE(r.count("Server"), 0);
    // RFC 6455 §4.4: a 426 says which version to use; nothing else carries it.
    QCOMPARE(r.header("Sec-WebSocket-Version"), status == 426 ? QByteArray("13") : QByteArray());
    // RFC 7231 §6.5.5: a 405 lists the allowed methods.
    QCOMPARE(r.header("Allow"), status == 405 ? QByteArray("GET") : QByteArray());
    QCOMPARE(r.count("Sec-WebSocket-Accept"), 0);
}

void tst_Response::errorResponseCustomReasonAndServer()
{
    const ParsedResponse r = parseResponse(buildErrorResponse(Error::HandshakeOriginRefused, "origin https://evil.example "
                                                      "is not allowed\r\n", "QuickWebSockets/0.1"));
    QVERIFY(r.wellFormed);
    QCOMPARE(r.statusLine, QByteArray("HTTP/1.1 403 Forbidden"));
    QCOMPARE(r.header("Server"), QByteArray("QuickWebSockets/0.1"));
    QCOMPARE(r.body, QByteArray("origin https://evil.example is not allowed\r\n")); // body is framed by length
    QCOMPARE(r.header("Content-Length"), QByteArray::number(r.body.size()));

    // A non-handshake error is a caller mistake, answered with a well-formed 400 all the same.
    const ParsedResponse fallback = parseResponse(buildErrorResponse(Error::InvalidUtf8));
    QVERIFY(fallback.wellFormed);
    QCOMPARE(fallback.statusLine, QByteArray("HTTP/1.1 400 Bad Request"));
}

void tst_Response::closeCodes_data()
{
    QTest::addColumn<Error>("error");
    QTest::addColumn<int>("closeCode");

    QTest::newRow("RFC 6455 §5.1: unmasked client frame → 1002") << Error::UnmaskedFrame << 1002;
    QTest::newRow("RFC 6455 §5.2: reserved bits → 1002") << Error::ReservedBits << 1002;
    QTest::newRow("RFC 6455 §5.2: unknown opcode → 1002") << Error::UnknownOpcode << 1002;
    QTest::newRow("RFC 6455 §5.2: non-minimal length → 1002") << Error::NonMinimalLength << 1002;
    QTest::newRow("RFC 6455 §5.2: 64-bit length MSB → 1002") << Error::LengthTooLarge << 1002;
    QTest::newRow("RFC 6455 §5.5: control payload > 125 → 1002") << Error::ControlFrameTooLong << 1002;
    QTest::newRow("RFC 6455 §5.5: fragmented control → 1002") << Error::FragmentedControlFrame << 1002;
    QTest::newRow("RFC 6455 §5.4: unexpected continuation → 1002") << Error::UnexpectedContinuation << 1002;
    QTest::newRow("RFC 6455 §5.4: expected continuation → 1002") << Error::ExpectedContinuation << 1002;
    QTest::newRow("RFC 7692 §6: compressed control → 1002") << Error::CompressedControlFrame << 1002;
    QTest::newRow("RFC 7692 §6.1: compressed continuation → 1002") << Error::CompressedContinuation << 1002;
    QTest::newRow("RFC 6455 §5.5.1: one-byte close payload → 1002") << Error::CloseTooShort << 1002;
    QTest::newRow("RFC 6455 §7.4: invalid close code → 1002") << Error::InvalidCloseCode << 1002;
    QTest::newRow("RFC 6455 §5.5.1: close reason not UTF-8 → 1007") << Error::InvalidCloseReason << 1007;
    QTest::newRow("RFC 6455 §8.1: text not UTF-8 → 1007") << Error::InvalidUtf8 << 1007;
    QTest::newRow("RFC 7692 §8: inflate failed → 1007") << Error::InflateFailed << 1007;
    QTest::newRow("RFC 6455 §7.4.1: frame too big → 1009") << Error::FrameTooBig << 1009;
    QTest::newRow("RFC 6455 §7.4.1: message too big → 1009") << Error::MessageTooBig << 1009;
    QTest::newRow("RFC 6455 §5.5.1: data after close → 1002") << Error::DataAfterClose << 1002;
    QTest::newRow("errors.h: None → 0") << Error::None << 0;
}

void tst_Response::closeCodes()
{
    QFETCH(Error, error);
    QFETCH(int, closeCode);
    QCOMPARE(int(closeCodeFor(error)), closeCode);
    QCOMPARE(httpStatusFor(error), 0); // frame errors never become HTTP responses
    if (closeCode)
        QVERIFY(isValidWireCloseCode(std::uint16_t(closeCode)));
}

void tst_Response::wireCloseCodes_data()
{
    QTest::addColumn<int>("code");
    QTest::addColumn<bool>("valid");
    const QList<QPair<int, bool>> table = {{0, false},     {999, false},  {1000, true},  {1001, true},  {1002, true},
                                           {1003, true},   {1004, false}, {1005, false}, {1006, false}, {1007, true},
                                           {1011, true},   {1012, true},  {1014, true},  {1015, false}, {1016, false},
                                           {2999, false},  {3000, true},  {3999, true},  {4000, true},  {4999, true},
                                           {5000, false},  {65535, false}};
    for (const auto &[code, valid] : table)
        QTest::addRow("RFC 6455 §7.4: %d → %s", code, valid ? "valid" : "invalid") << code << valid;
}

void tst_Response::wireCloseCodes()
{
    QFETCH(int, code);
    QFETCH(bool, valid);
    QCOMPARE(isValidWireCloseCode(std::uint16_t(code)), valid);
}

void tst_Response::describeIsShortAndDistinct()
{
    std::set<std::string_view> seen;
    for (int i = int(Error::None); i <= int(Error::DataAfterClose); ++i) {
        const std::string_view text = describe(Error(i));
        QVERIFY2(!text.empty(), qPrintable(QString::number(i)));
        QVERIFY2(text.size() < 64, text.data());
        QVERIFY2(text.back() != '.', text.data()); // errors.h: no trailing period
        QVERIFY2(seen.insert(text).second, text.data());
        // Every handshake error has a status, every other one (but None) a close code.
        if (i != int(Error::None))
            QVERIFY2((httpStatusFor(Error(i)) != 0) != (closeCodeFor(Error(i)) != 0), text.data());
    }
}

QTEST_APPLESS_MAIN(tst_Response)
#include "tst_response.moc"
