// SPDX-License-Identifier: BSD-3-Clause
// ServerConnection: RFC 6455 §4.2 opening handshake, §5.5 ping/pong, §7 closing handshake, RFC 7692.
#include "protocol/connection.h"
#include "protocol/deflate.h"

#include "chunks.h"
#include "deflatehelpers.h"
#include "eventtext.h"
#include "framebuilder.h"
#include "httpresponse.h"

#include <QTest>

#include <cstring>

using namespace qws::protocol;
using namespace qws::test;

namespace {

/// A PayloadAllocator that counts what it hands out and what is still alive.
struct CountingAllocator final : PayloadAllocator {
    struct Payload final : ExternalPayload {
        explicit Payload(int &alive) : alive(alive) { ++alive; }
        ~Payload() override { --alive; }
        std::vector<std::byte> storage;
        int &alive;
    };
    std::shared_ptr<ExternalPayload> allocate(std::size_t size) override
    {
        ++calls;
        if (decline)
            return nullptr;
        auto payload = std::make_shared<Payload>(alive);
        payload->storage.resize(size);
        payload->bytes = payload->storage;
        return payload;
    }
    /// With adoptInput: the bytes stay in the caller's input (the test keeps it alive).
    std::shared_ptr<ExternalPayload> adopt(std::span<std::byte> bytes) override
    {
        ++adoptCalls;
        if (!adoptInput)
            return nullptr;
        auto payload = std::make_shared<Payload>(alive);
        payload->bytes = bytes;
        return payload;
    }
    int calls = 0;
    int adoptCalls = 0;
    int alive = 0;
    bool decline = false;
    bool adoptInput = false;
};

QByteArray qba(std::string_view s) { return QByteArray(s.data(), qsizetype(s.size())); }
std::string_view view(const QByteArray &b) { return {b.constData(), std::size_t(b.size())}; }

const char kDeflateOffer[] = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// A connection fed `request` and accepted; the 101 is taken from the output into `response`.
void openConnection(ServerConnection &c, std::string_view extraHeaders = {}, std::string *response = nullptr)
{
    c.receive(bytes(upgradeRequest(extraHeaders)));
    QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
    c.accept();
    QCOMPARE(c.state(), ServerConnection::State::Open);
    const std::string out = c.takeOutput();
    if (response)
        *response = out;
}

/// The wire bytes of a server (unmasked) close frame, spelled out byte by byte.
QByteArray serverClose(std::uint16_t code, std::string_view reason)
{
    QByteArray b;
    b.append(char(0x88)).append(char(2 + reason.size())).append(char(code >> 8)).append(char(code & 0xff));
    b.append(reason.data(), qsizetype(reason.size()));
    return b;
}

std::string inflated(std::string_view compressed, Inflater &inflater)
{
    const auto [e, out] = inflateOne(inflater, compressed, 64 * 1024 * 1024);
    return e == Error::None ? out : std::string("<inflate failed>");
}

} // namespace

class tst_Connection : public QObject
{
    Q_OBJECT

private slots:
    void handshake_data();
    void handshake();
    void framesInTheSameReadAsTheRequest();
    void framesBetweenRequestAndAccept();
    void badRequest_data();
    void badRequest();
    void reject_data();
    void reject();
    void handshakeTimeout();
    void nothingIsSentBeforeAccept();

    void pingIsAnsweredWithPong_data();
    void pingIsAnsweredWithPong();
    void fragmentedMessageWithPing();
    void clientInitiatedClose_data();
    void clientInitiatedClose();
    void serverInitiatedClose();
    void protocolErrorSendsCloseFrame_data();
    void protocolErrorSendsCloseFrame();
    void failureAfterOurCloseSendsNoSecondClose();
    void eofWithoutClose();

    void sendBinaryHeaderSizes_data();
    void sendBinaryHeaderSizes();
    void sendControlFrames();
    void compressedRoundTrip();
    void compressedReceive();
    void sharedConfig();
    void releaseHandshake();
    void subprotocolIsReleasedWithTheHandshake();

    void scratchReceiveMatchesReceive_data();
    void scratchReceiveMatchesReceive();
    void scratchReusesBuffersAndAssembler();
    void scratchKeepsEarlierEventsFirst();
    void largeBinaryGoesToReceiverStorage_data();
    void largeBinaryGoesToReceiverStorage();
    void largeBinaryCanStayInWritableInput_data() { largeBinaryGoesToReceiverStorage_data(); }
    void largeBinaryCanStayInWritableInput();
    void largeBinaryReadStraightIntoStorage();
    void payloadSinkOnlyForExternalStorage();
    void receiverStorageIsReleasedOnFailure();
};

void tst_Connection::handshake_data()
{
    QTest::addColumn<QByteArray>("extraHeaders");
    QTest::addColumn<QStringList>("serverProtocols");
    QTest::addColumn<bool>("deflateEnabled");
    QTest::addColumn<QByteArray>("expectedProtocol");     // empty: header absent
    QTest::addColumn<QByteArray>("expectedExtensions");   // prefix; empty: header absent

    QTest::newRow("RFC 6455 §4.2.2: the sample key, no subprotocol, no extension")
        << QByteArray() << QStringList{} << true << QByteArray() << QByteArray();
    QTest::newRow("RFC 6455 §4.2.2: the first subprotocol of the server's preference the client offered")
        << QByteArray("Sec-WebSocket-Protocol: superchat, chat\r\n") << QStringList{"chat", "superchat"} << true
        << QByteArray("chat") << QByteArray();
    QTest::newRow("RFC 6455 §4.2.2: no subprotocol in common → no header")
        << QByteArray("Sec-WebSocket-Protocol: mqtt\r\n") << QStringList{"chat"} << true << QByteArray() << QByteArray();
    QTest::newRow("RFC 6455 §4.2.2: subprotocol names are case-sensitive")
        << QByteArray("Sec-WebSocket-Protocol: Chat\r\n") << QStringList{"chat"} << true << QByteArray() << QByteArray();
    QTest::newRow("RFC 7692 §5: a permessage-deflate offer is accepted in the 101")
        << QByteArray(kDeflateOffer) << QStringList{} << true << QByteArray() << QByteArray("permessage-deflate");
    QTest::newRow("RFC 7692 §5: deflate disabled → no extension header")
        << QByteArray(kDeflateOffer) << QStringList{} << false << QByteArray() << QByteArray();
    QTest::newRow("RFC 6455 §9.1: unknown extensions are declined")
        << QByteArray("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n") << QStringList{} << true << QByteArray()
        << QByteArray();
    QTest::newRow("RFC 6455 §4.2.2 + RFC 7692: subprotocol and extension together")
        << QByteArray("Sec-WebSocket-Protocol: chat\r\n" + QByteArray(kDeflateOffer)) << QStringList{"chat"} << true
        << QByteArray("chat") << QByteArray("permessage-deflate");
}

void tst_Connection::handshake()
{
    QFETCH(QByteArray, extraHeaders);
    QFETCH(QStringList, serverProtocols);
    QFETCH(bool, deflateEnabled);
    QFETCH(QByteArray, expectedProtocol);
    QFETCH(QByteArray, expectedExtensions);

    const std::string request = upgradeRequest(view(extraHeaders));
    for (const Chunking &chunking : allChunkings(request, 256)) {
        ConnectionConfig config;
        for (const QString &p : serverProtocols)
            config.subprotocols.push_back(p.toStdString());
        config.deflate.enabled = deflateEnabled;
        ServerConnection c(config);
        for (std::size_t i = 0; i < chunking.chunks.size(); ++i) {
            QCOMPARE(c.state(), ServerConnection::State::Handshake);
            c.receive(bytes(chunking.chunks[i]));
        }
        QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
        QVERIFY(!c.hasOutput());
        QVERIFY(!c.hasEvents());
        QCOMPARE(c.request().key, std::string("dGhlIHNhbXBsZSBub25jZQ=="));
        c.accept();
        QCOMPARE(c.state(), ServerConnection::State::Open);

        const ParsedResponse r = parseResponse(c.takeOutput());
        QVERIFY(r.wellFormed);
        QCOMPARE(r.status(), 101);
        QVERIFY(r.body.isEmpty());
        QCOMPARE(r.header("upgrade").toLower(), QByteArray("websocket"));
        QCOMPARE(r.header("connection").toLower(), QByteArray("upgrade"));
        QCOMPARE(r.header("sec-websocket-accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        QCOMPARE(r.header("sec-websocket-protocol"), expectedProtocol);
        QCOMPARE(QByteArray::fromStdString(c.subprotocol()), expectedProtocol);
        QVERIFY(r.header("sec-websocket-extensions").startsWith(expectedExtensions));
        QCOMPARE(r.count("sec-websocket-extensions") > 0, !expectedExtensions.isEmpty());
        QCOMPARE(c.deflateParams().has_value(), !expectedExtensions.isEmpty());
    }
}

void tst_Connection::framesInTheSameReadAsTheRequest()
{
    // RFC 6455 §4.2.1: the request ends at the blank line; the bytes after it are frames.
    const std::string wire = upgradeRequest() + pingFrame("early") + textFrame("Hello");
    for (const Chunking &chunking : allChunkings(wire, 512)) {
        ServerConnection c;
        for (std::string_view chunk : chunking.chunks)
            c.receive(bytes(chunk));
        QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
        QVERIFY(!c.hasEvents());
        c.accept();
        const QByteArray out = qba(c.takeOutput());
        QVERIFY(out.startsWith("HTTP/1.1 101 "));
        QVERIFY2(out.endsWith(QByteArray("\r\n\r\n\x8a\x05" "early")), out.toHex(' ').constData());
        QCOMPARE(eventTexts(c.takeEvents()), (QStringList{"ping: early", "text(5): Hello"}));
    }
}

void tst_Connection::framesBetweenRequestAndAccept()
{
    ServerConnection c;
    c.receive(bytes(upgradeRequest() + "\x81"));   // half a frame header with the request
    c.receive(bytes(textFrame("queued").substr(1)));
    QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
    QVERIFY(!c.hasEvents());
    c.accept();
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(6): queued"});
    c.receive(bytes(textFrame("after")));
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(5): after"});
}

void tst_Connection::badRequest_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("error");
    std::string post = upgradeRequest();
    post.replace(0, 3, "POST");
    std::string noKey = upgradeRequest();
    noKey.erase(noKey.find("Sec-WebSocket-Key"), noKey.find("Origin") - noKey.find("Sec-WebSocket-Key"));
    std::string v12 = upgradeRequest();
    v12.replace(v12.find("Version: 13"), 11, "Version: 12");

    QTest::newRow("RFC 6455 §4.2.1 item 1: not GET → 405") << qba(post) << 405 << "HandshakeMethodNotAllowed";
    QTest::newRow("RFC 6455 §4.2.1 item 5: no Sec-WebSocket-Key → 400") << qba(noKey) << 400 << "HandshakeBadKey";
    QTest::newRow("RFC 6455 §4.4: version 12 → 426") << qba(v12) << 426 << "HandshakeBadVersion";
    QTest::newRow("RFC 6455 §4.2.1: not HTTP at all (a TLS ClientHello) → 400")
        << QByteArray("\x16\x03\x01\x02\xfc\x03\x03\r\n\r\n") << 400 << "HandshakeTlsOnPlainPort";
    QTest::newRow("RFC 6455 §4.2.1: a TLS ClientHello without any LF fails at once → 400")
        << QByteArray("\x16\x03\x01\x02\xfc\x01\x00\x02\xf8\x03\x03", 11) << 400 << "HandshakeTlsOnPlainPort";
}

void tst_Connection::badRequest()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QString, error);
    ServerConnection c;
    c.receive(bytes(view(request) ));
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(parseResponse(c.takeOutput()).status(), status);
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{QStringLiteral("failure %1 0").arg(error)});
    c.receive(bytes(textFrame("ignored")));
    QVERIFY(!c.hasOutput());
    QVERIFY(!c.hasEvents());
}

void tst_Connection::reject_data()
{
    QTest::addColumn<int>("error");
    QTest::addColumn<int>("status");
    QTest::newRow("RFC 6455 §4.2.2: origin refused → 403") << int(Error::HandshakeOriginRefused) << 403;
    QTest::newRow("RFC 6455 §4.2.2: server full → 503") << int(Error::HandshakeServerFull) << 503;
}

void tst_Connection::reject()
{
    QFETCH(int, error);
    QFETCH(int, status);
    ServerConnection c;
    c.receive(bytes(upgradeRequest() + textFrame("pipelined")));
    c.reject(Error(error), "go away");
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    const ParsedResponse r = parseResponse(c.takeOutput());
    QCOMPARE(r.status(), status);
    QCOMPARE(r.count("sec-websocket-accept"), 0);
    QVERIFY(r.body.contains("go away"));
    c.accept();   // too late: nothing happens
    c.receive(bytes(textFrame("ignored")));
    QVERIFY(!c.hasOutput());
    QVERIFY(!c.hasEvents());
}

void tst_Connection::handshakeTimeout()
{
    ServerConnection c;
    c.receive(bytes(upgradeRequest().substr(0, 40)));
    c.handshakeTimedOut();
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(parseResponse(c.takeOutput()).status(), 408);
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"failure HandshakeTimeout 0"});

    ServerConnection open;
    openConnection(open);
    open.handshakeTimedOut();   // a late timer changes nothing once the 101 is out
    QCOMPARE(open.state(), ServerConnection::State::Open);
    QVERIFY(!open.hasOutput());
}

void tst_Connection::nothingIsSentBeforeAccept()
{
    ServerConnection c;
    QVERIFY(!c.sendText("x"));
    QVERIFY(!c.sendPing());
    QVERIFY(!c.close());
    c.receive(bytes(upgradeRequest()));
    QVERIFY(!c.sendText("x"));
    QVERIFY(!c.hasOutput());
}

void tst_Connection::pingIsAnsweredWithPong_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::newRow("RFC 6455 §5.5.2: an empty ping") << QByteArray();
    QTest::newRow("RFC 6455 §5.5.3: the pong echoes the application data") << QByteArray("abc");
    QTest::newRow("RFC 6455 §5.5: a 125-byte ping") << QByteArray(125, 'z');
}

void tst_Connection::pingIsAnsweredWithPong()
{
    QFETCH(QByteArray, payload);
    ServerConnection c;
    openConnection(c);
    c.receive(bytes(pingFrame(view(payload))));
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x8a", 1) + char(payload.size()) + payload);
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"ping: " + payloadText(view(payload))});
}

void tst_Connection::fragmentedMessageWithPing()
{
    ServerConnection c;
    openConnection(c);
    c.receive(bytes(textFrame("Hel", false) + pingFrame("p") + continuationFrame("lo", true)));
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x8a\x01p"));
    QCOMPARE(eventTexts(c.takeEvents()), (QStringList{"ping: p", "text(5): Hello"}));
}

void tst_Connection::clientInitiatedClose_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QByteArray>("reply");
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("reason");
    QTest::newRow("RFC 6455 §5.5.1: the reply echoes the status code")
        << qba(closeFrame(1000, "bye")) << QByteArray("\x88\x02\x03\xe8", 4) << 1000 << QByteArray("bye");
    QTest::newRow("RFC 6455 §7.4.2: a private code is echoed")
        << qba(closeFrame(4000)) << QByteArray("\x88\x02\x0f\xa0", 4) << 4000 << QByteArray();
    QTest::newRow("RFC 6455 §5.5.1: a close without a code is answered without one (1005)")
        << qba(makeFrame("", {.opcode = 0x8})) << QByteArray("\x88\x00", 2) << 1005 << QByteArray();
}

void tst_Connection::clientInitiatedClose()
{
    QFETCH(QByteArray, frame);
    QFETCH(QByteArray, reply);
    QFETCH(int, code);
    QFETCH(QByteArray, reason);
    ServerConnection c;
    openConnection(c);
    // §5.5.1: whatever follows the close frame, even in the same read, is not read.
    c.receive(bytes(std::string(view(frame)) + textFrame("after close") + pingFrame()));
    QCOMPARE(qba(c.takeOutput()), reply);
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(eventTexts(c.takeEvents()).size(), 1);
    QCOMPARE(int(c.closeCode()), code);
    QCOMPARE(QByteArray::fromStdString(c.closeReason()), reason);
    QVERIFY(!c.sendText("too late"));
    QVERIFY(!c.close());
    c.receive(bytes(pingFrame()));
    QVERIFY(!c.hasOutput());
    QVERIFY(!c.hasEvents());
}

void tst_Connection::serverInitiatedClose()
{
    ServerConnection c;
    openConnection(c);
    QVERIFY(!c.close(1006));   // §7.4.1: never on the wire
    QVERIFY(c.close(1001, "going away"));
    QCOMPARE(qba(c.takeOutput()), serverClose(1001, "going away"));
    QCOMPARE(c.state(), ServerConnection::State::Closing);
    QVERIFY(!c.close(1000));          // §7.1.2: one close frame only
    QVERIFY(!c.sendText("no more"));  // §5.5.1: no data after our close
    QVERIFY(!c.hasOutput());

    // §7.1.2: the peer may still finish what it was sending before it answers.
    c.receive(bytes(textFrame("last words")));
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(10): last words"});
    QCOMPARE(c.state(), ServerConnection::State::Closing);
    QCOMPARE(int(c.closeCode()), 1006);

    c.receive(bytes(closeFrame(1001)));
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QVERIFY(!c.hasOutput());   // the handshake is complete: no second close frame
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"close 1001: "});
    QCOMPARE(int(c.closeCode()), 1001);
}

void tst_Connection::protocolErrorSendsCloseFrame_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<int>("error");
    QTest::addColumn<QStringList>("events");
    QTest::newRow("RFC 6455 §5.1: an unmasked frame → close 1002")
        << qba(makeFrame("x", {.masked = false})) << int(Error::UnmaskedFrame)
        << QStringList{"failure UnmaskedFrame 1002"};
    QTest::newRow("RFC 6455 §5.4: continuation without a message → close 1002")
        << qba(textFrame("ok") + continuationFrame("x", true)) << int(Error::UnexpectedContinuation)
        << QStringList{"text(2): ok", "failure UnexpectedContinuation 1002"};
    QTest::newRow("RFC 6455 §8.1: invalid UTF-8 → close 1007")
        << qba(textFrame("\xc3\x28")) << int(Error::InvalidUtf8) << QStringList{"failure InvalidUtf8 1007"};
    QTest::newRow("RFC 6455 §7.4.1: a message over the limit → close 1009")
        << qba(binaryFrame(std::string(2000, 'b'))) << int(Error::MessageTooBig)
        << QStringList{"failure MessageTooBig 1009"};
    QTest::newRow("RFC 6455 §7.4.2: close code 999 → close 1002")
        << qba(closeFrame(999)) << int(Error::InvalidCloseCode) << QStringList{"failure InvalidCloseCode 1002"};
}

void tst_Connection::protocolErrorSendsCloseFrame()
{
    QFETCH(QByteArray, wire);
    QFETCH(int, error);
    QFETCH(QStringList, events);
    ConnectionConfig config;
    config.messages.maxMessageSize = 1000;
    ServerConnection c(config);
    openConnection(c);
    c.receive(bytes(std::string(view(wire)) + pingFrame("never answered")));
    const Error e = Error(error);
    const std::uint16_t code = closeCodeFor(e);
    // §7.1.7: one close frame with the code; the reason is the error's short text (≤ 123 bytes).
    QCOMPARE(qba(c.takeOutput()), serverClose(code, describe(e)));
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(c.error(), e);
    QCOMPARE(int(c.closeCode()), int(code));
    QCOMPARE(eventTexts(c.takeEvents()), events);
    c.receive(bytes(pingFrame()));
    QVERIFY(!c.hasOutput());
}

void tst_Connection::failureAfterOurCloseSendsNoSecondClose()
{
    ServerConnection c;
    openConnection(c);
    QVERIFY(c.close(1000));
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x88\x02\x03\xe8", 4));
    c.receive(bytes(makeFrame("x", {.masked = false})));
    QVERIFY(!c.hasOutput());
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(int(c.closeCode()), 1002);
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"failure UnmaskedFrame 1002"});
}

void tst_Connection::eofWithoutClose()
{
    ServerConnection c;
    openConnection(c);
    c.receive(bytes(textFrame("half", false)));
    c.receiveEof();
    QCOMPARE(c.state(), ServerConnection::State::Closed);
    QCOMPARE(int(c.closeCode()), 1006);   // §7.1.5: abnormal closure
    QVERIFY(!c.sendText("x"));
    QVERIFY(!c.hasOutput());
}

void tst_Connection::sendBinaryHeaderSizes_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<QByteArray>("header");
    QTest::newRow("RFC 6455 §5.2: 0 bytes, 7-bit length") << 0 << QByteArray("\x82\x00", 2);
    QTest::newRow("RFC 6455 §5.2: 125 bytes, 7-bit length") << 125 << QByteArray("\x82\x7d", 2);
    QTest::newRow("RFC 6455 §5.2: 126 bytes, 16-bit length") << 126 << QByteArray("\x82\x7e\x00\x7e", 4);
    QTest::newRow("RFC 6455 §5.2: 65535 bytes, 16-bit length") << 65535 << QByteArray("\x82\x7e\xff\xff", 4);
    QTest::newRow("RFC 6455 §5.2: 65536 bytes, 64-bit length")
        << 65536 << QByteArray("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

void tst_Connection::sendBinaryHeaderSizes()
{
    QFETCH(int, size);
    QFETCH(QByteArray, header);
    ConnectionConfig config;
    config.deflate.enabled = false;
    ServerConnection c(config);
    openConnection(c, kDeflateOffer);
    QByteArray payload(size, Qt::Uninitialized);
    for (int i = 0; i < size; ++i)
        payload[i] = char(i * 7);
    QVERIFY(c.sendBinary(bytes(view(payload))));
    QCOMPARE(qba(c.takeOutput()), header + payload);   // §5.1: server frames are not masked
}

void tst_Connection::sendControlFrames()
{
    ServerConnection c;
    openConnection(c);
    QVERIFY(c.sendText("hi"));
    QVERIFY(c.sendPing("beat"));
    QVERIFY(c.sendPong());
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x81\x02hi\x89\x04" "beat\x8a\x00", 12));
    QVERIFY(c.sendPing(std::string(300, 'x')));   // §5.5: truncated to 125
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x89\x7d") + QByteArray(125, 'x'));
}

void tst_Connection::compressedRoundTrip()
{
    ServerConnection c;
    openConnection(c, kDeflateOffer);
    QVERIFY(c.deflateParams().has_value());
    const DeflateParams params = *c.deflateParams();
    Inflater client(params.serverMaxWindowBits, params.serverNoContextTakeover);

    std::string text;
    for (int i = 0; i < 2000; ++i)
        text += "message " + std::to_string(i % 10) + " ";
    for (int round = 0; round < 2; ++round) {   // the second one reuses the window (§7.2.3.2)
        QVERIFY(c.sendText(text));
        const std::string out = c.takeOutput();
        QCOMPARE(std::uint8_t(out[0]), std::uint8_t(0xC1));   // FIN + RSV1 + text (RFC 7692 §6)
        const std::uint8_t len7 = std::uint8_t(out[1]);
        const std::size_t headerSize = len7 == 126 ? 4 : (len7 == 127 ? 10 : 2);
        QVERIFY2(out.size() < text.size() / 4, "compression made it no smaller");
        QCOMPARE(inflated(std::string_view(out).substr(headerSize), client), text);
    }
    // Below minMessageSize (64) a message goes out plain, RSV1 clear.
    QVERIFY(c.sendBinary(bytes("tiny")));
    QCOMPARE(qba(c.takeOutput()), QByteArray("\x82\x04tiny"));
}

void tst_Connection::compressedReceive()
{
    ServerConnection c;
    openConnection(c, kDeflateOffer);
    // RFC 7692 §7.2.3.1: "Hello" compressed, then an uncompressed message on the same connection.
    c.receive(bytes(makeFrame(std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), {.rsv1 = true}) + textFrame("plain")));
    QCOMPARE(eventTexts(c.takeEvents()), (QStringList{"text(5): Hello [deflate]", "text(5): plain"}));

    ServerConnection plain;
    openConnection(plain);   // not negotiated: RSV1 is a protocol error (§5.2)
    plain.receive(bytes(makeFrame(std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), {.rsv1 = true})));
    QCOMPARE(eventTexts(plain.takeEvents()), QStringList{"failure ReservedBits 1002"});
    QCOMPARE(int(plain.closeCode()), 1002);
}

void tst_Connection::sharedConfig()
{
    // One immutable config shared by many connections: each reads it, none copies it.
    auto config = std::make_shared<const ConnectionConfig>(
        ConnectionConfig{.subprotocols = {"chat"}, .serverName = "qws-test"});
    ServerConnection a(config), b(config);
    QCOMPARE(config.use_count(), 3);
    for (ServerConnection *c : {&a, &b}) {
        std::string response;
        openConnection(*c, "Sec-WebSocket-Protocol: chat\r\n", &response);
        const ParsedResponse r = parseResponse(response);
        QCOMPARE(r.status(), 101);
        QCOMPARE(r.header("server"), QByteArray("qws-test"));
        QCOMPARE(r.header("sec-websocket-protocol"), QByteArray("chat"));
    }
    // A null pointer means the default config.
    ServerConnection d{std::shared_ptr<const ConnectionConfig>()};
    std::string response;
    openConnection(d, {}, &response);
    QCOMPARE(parseResponse(response).count("server"), 0);
}

void tst_Connection::releaseHandshake()
{
    ServerConnection c;
    c.releaseHandshake();   // in Handshake: ignored
    c.receive(bytes(upgradeRequest() + textFrame("queued")));
    QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
    c.releaseHandshake();   // in AwaitingDecision: ignored, the request and the queued frame survive
    QCOMPARE(c.request().path, std::string("/chat"));
    QVERIFY(!c.request().key.empty());
    c.accept();
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(6): queued"});
    QVERIFY(!c.request().headers.empty());   // kept until released
    c.releaseHandshake();
    QVERIFY(c.request().headers.empty());
    QVERIFY(c.request().key.empty());
    QVERIFY(c.request().path.empty());
    c.receive(bytes(textFrame("after")));   // the open connection does not need it
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(5): after"});
    c.releaseHandshake();   // twice is harmless
    QVERIFY(c.request().headers.empty());
}

/// The negotiated subprotocol belongs to the handshake state: readable once Open, gone with
/// releaseHandshake() (an idle connection keeps no copy; the server copies it first).
void tst_Connection::subprotocolIsReleasedWithTheHandshake()
{
    ServerConnection c(ConnectionConfig{.subprotocols = {"chat"}});
    c.receive(bytes(upgradeRequest("Sec-WebSocket-Protocol: chat\r\n")));
    QCOMPARE(c.state(), ServerConnection::State::AwaitingDecision);
    c.accept();
    QCOMPARE(c.subprotocol(), std::string("chat"));
    c.releaseHandshake();
    QVERIFY(c.subprotocol().empty());
    QVERIFY(c.closeReason().empty());   // nothing allocated for it before a close
    QVERIFY(c.close(1000, "bye"));
    QVERIFY(c.closeReason().empty());   // our own reason is not the peer's
}


// ---- receive(data, scratch): the same events as receive(), with the storage reused --------------

void tst_Connection::scratchReceiveMatchesReceive_data()
{
    QTest::addColumn<QByteArray>("input");
    const std::string big(300, 'b');
    QTest::newRow("eight small text messages (the 64-byte echo's burst)")
        << qba(textFrame(std::string(64, 'a')) + textFrame(std::string(64, 'b')) + textFrame("c") + textFrame("")
               + textFrame(std::string(64, 'e')) + textFrame(std::string(64, 'f')) + textFrame("g")
               + textFrame(std::string(64, 'h')));
    QTest::newRow("RFC 6455 §5.4: fragments with a ping between them, then binary")
        << qba(textFrame("Hel", false) + pingFrame("p") + continuationFrame("lo", true) + binaryFrame(big));
    QTest::newRow("RFC 6455 §5.5.1: nothing after the close frame is delivered")
        << qba(textFrame("before") + closeFrame(1000, "bye") + textFrame("after"));
    QTest::newRow("RFC 6455 §8.1: invalid UTF-8 fails after the messages before it")
        << qba(textFrame("fine") + textFrame("\xff") + textFrame("never"));
}

void tst_Connection::scratchReceiveMatchesReceive()
{
    QFETCH(QByteArray, input);
    for (const Chunking &chunking : allChunkings(view(input))) {
        ServerConnection classic;
        openConnection(classic);
        QStringList expected;
        for (std::string_view chunk : chunking.chunks) {
            classic.receive(bytes(chunk));
            expected += eventTexts(classic.takeEvents());
        }
        ServerConnection fast;
        openConnection(fast);
        ReceiveScratch scratch;
        QStringList got;
        for (std::string_view chunk : chunking.chunks) {
            fast.receive(bytes(chunk), scratch);
            QVERIFY2(!fast.hasEvents(), "scratch events must not also wait in takeEvents()");
            got += eventTexts(scratch.events);
            for (Event &event : scratch.events) {
                if (auto *message = std::get_if<Message>(&event))
                    scratch.recycle(std::move(message->payload));
            }
            scratch.events.clear();
        }
        QVERIFY2(got == expected, qPrintable(QString::fromStdString(chunking.name) + ": " + got.join(" | ")
                                             + "  expected  " + expected.join(" | ")));
        QCOMPARE(qba(fast.takeOutput()), qba(classic.takeOutput()));
        QCOMPARE(fast.state(), classic.state());
        QCOMPARE(fast.closeCode(), classic.closeCode());
    }
}

void tst_Connection::scratchReusesBuffersAndAssembler()
{
    // A recycled payload buffer carries the next message of that size (its storage, not a copy), and
    // a connection at rest hands its assembler back for the next one: nothing is allocated per message.
    ServerConnection a;
    ServerConnection b;
    openConnection(a);
    openConnection(b);
    ReceiveScratch scratch;
    a.receive(bytes(textFrame(std::string(64, 'x'))), scratch);
    QCOMPARE(scratch.events.size(), std::size_t(1));
    QVERIFY2(scratch.assembler, "a connection at rest gives its assembler back");
    const MessageAssembler *assembler = scratch.assembler.get();
    std::string payload = std::move(std::get<Message>(scratch.events.front()).payload);
    const char *storage = payload.data();
    scratch.events.clear();
    scratch.recycle(std::move(payload));
    QCOMPARE(scratch.buffers.size(), std::size_t(1));

    b.receive(bytes(textFrame(std::string(60, 'y'))), scratch);
    QCOMPARE(scratch.events.size(), std::size_t(1));
    QCOMPARE(std::get<Message>(scratch.events.front()).payload, std::string(60, 'y'));
    QCOMPARE(std::get<Message>(scratch.events.front()).payload.data(), storage);
    QVERIFY(scratch.buffers.empty());
    QCOMPARE(scratch.assembler.get(), assembler);

    // Only small buffers are kept, and only so many.
    scratch.events.clear();
    scratch.recycle(std::string(ReceiveScratch::kMaxRecycledCapacity + 1, 'z'));
    QVERIFY(scratch.buffers.empty());
    for (std::size_t i = 0; i < ReceiveScratch::kMaxBuffers + 5; ++i)
        scratch.recycle(std::string(100, 'z'));
    QCOMPARE(scratch.buffers.size(), ReceiveScratch::kMaxBuffers);
}

void tst_Connection::scratchKeepsEarlierEventsFirst()
{
    // Frames that came with the request are parsed by accept() into takeEvents(); what arrives later
    // through the scratch comes after them (the caller takes takeEvents() first).
    ServerConnection c;
    c.receive(bytes(upgradeRequest() + textFrame("early")));
    c.accept();
    ReceiveScratch scratch;
    c.receive(bytes(textFrame("late")), scratch);
    QCOMPARE(eventTexts(c.takeEvents()), QStringList{"text(5): early"});
    QCOMPARE(eventTexts(scratch.events), QStringList{"text(4): late"});
}

// ---- large binary messages in the receiver's storage (ReceiveScratch::allocator) --------------------

void tst_Connection::largeBinaryGoesToReceiverStorage_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("externalMessages");   // how many messages arrive in the allocator's storage
    QTest::addColumn<int>("inPlaceMessages");    // with inputWritable, all in one receive(): Message::inPlace
    std::string big(5000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = char(i * 7 + 3);
    QTest::newRow("one 5000-byte binary frame: external") << qba(binaryFrame(big)) << 1 << 0;
    QTest::newRow("exactly externalMin (4096): external") << qba(binaryFrame(big.substr(0, 4096))) << 1 << 0;
    QTest::newRow("4095 bytes: a std::string") << qba(binaryFrame(big.substr(0, 4095))) << 0 << 0;
    QTest::newRow("text of 5000 bytes: a std::string (it becomes UTF-16 anyway)")
        << qba(textFrame(std::string(5000, 't'))) << 0 << 0;
    QTest::newRow("RFC 6455 §5.4: fragmented binary: a std::string (its size is unknown up front)")
        << qba(binaryFrame(big.substr(0, 3000), false) + continuationFrame(big.substr(3000), true)) << 0 << 0;
    QTest::newRow("RFC 6455 §5.5: a ping between two large messages")
        << qba(binaryFrame(big) + pingFrame("p") + binaryFrame(big.substr(100))) << 2 << 0;
    QTest::newRow("small whole messages (under 126 bytes): unmasked where they lie (the empty one has no bytes)")
        << qba(textFrame("hello") + binaryFrame(big.substr(0, 125)) + textFrame("") + textFrame(std::string(126, 'x'))
               + binaryFrame(big.substr(7, 64)))
        << 0 << 3;
    QTest::newRow("RFC 6455 §8.1: a small text that is not UTF-8 fails, its bytes left as they came")
        << qba(textFrame("ok") + textFrame("a\xff\xfe") + textFrame("never")) << 0 << 1;
}

namespace {
/// The messages' payloads as the classic receive() (no scratch, no receiver storage) delivers them.
std::vector<std::string> classicMessages(const Chunking &chunking)
{
    ServerConnection classic;
    openConnection(classic);
    for (std::string_view chunk : chunking.chunks)
        classic.receive(bytes(chunk));
    std::vector<std::string> payloads;
    for (Event &event : classic.takeEvents()) {
        if (auto *message = std::get_if<Message>(&event))
            payloads.push_back(message->payload);
    }
    return payloads;
}
} // namespace

void tst_Connection::largeBinaryGoesToReceiverStorage()
{
    QFETCH(QByteArray, input);
    QFETCH(int, externalMessages);
    for (const Chunking &chunking : allChunkings(view(input), 64)) {
        const std::vector<std::string> expected = classicMessages(chunking);
        ServerConnection fast;
        openConnection(fast);
        CountingAllocator allocator;
        ReceiveScratch scratch;
        scratch.allocator = &allocator;
        std::vector<std::string> got;
        int external = 0;
        for (std::string_view chunk : chunking.chunks) {
            fast.receive(bytes(chunk), scratch);
            for (Event &event : scratch.events) {
                if (auto *message = std::get_if<Message>(&event)) {
                    if (message->external) {
                        ++external;
                        QVERIFY(message->payload.empty());
                        const auto &b = message->external->bytes;
                        got.emplace_back(reinterpret_cast<const char *>(b.data()), b.size());
                    } else {
                        got.push_back(message->payload);
                    }
                }
            }
            scratch.events.clear();
        }
        QVERIFY2(got == expected, chunking.name.c_str());
        QCOMPARE(external, externalMessages);
        QCOMPARE(allocator.alive, 0);   // the events were dropped: the storage with them
    }
}

// ReceiveScratch::inputWritable: a large one-frame binary message lying whole in one receive() is
// unmasked where it lies and adopted (PayloadAllocator::adopt); one split over receives is allocated.
// A small whole message is unmasked where it lies and viewed (Message::inPlace). Either way the
// messages are those of the classic path, and nothing outside them is written.
void tst_Connection::largeBinaryCanStayInWritableInput()
{
    QFETCH(QByteArray, input);
    QFETCH(int, externalMessages);
    QFETCH(int, inPlaceMessages);
    for (const bool adoptInput : {true, false}) {
        for (const Chunking &chunking : allChunkings(view(input), 64)) {
            const std::vector<std::string> expected = classicMessages(chunking);
            ServerConnection fast;
            openConnection(fast);
            CountingAllocator allocator;
            allocator.adoptInput = adoptInput;
            ReceiveScratch scratch;
            scratch.allocator = &allocator;
            scratch.inputWritable = true;
            std::vector<std::string> got;
            int adopted = 0;
            int external = 0;
            int inPlace = 0;
            for (std::string_view chunk : chunking.chunks) {
                std::string writable(chunk);   // the receiver's own storage
                const auto *begin = reinterpret_cast<const std::byte *>(writable.data());
                fast.receive(bytes(writable), scratch);
                std::string untouched = writable;   // what the core may not have written: all but payloads
                for (Event &event : scratch.events) {
                    auto *message = std::get_if<Message>(&event);
                    if (!message)
                        continue;
                    if (!message->inPlace.empty()) {
                        ++inPlace;
                        QVERIFY(message->payload.empty() && !message->external);
                        const std::string_view v = message->inPlace;
                        QVERIFY(v.data() >= writable.data() && v.data() + v.size() <= writable.data() + writable.size());
                        const auto at = std::size_t(v.data() - writable.data());
                        untouched.replace(at, v.size(), chunk.substr(at, v.size()));
                    }
                    if (!message->external) {
                        got.emplace_back(message->bytes());
                        continue;
                    }
                    ++external;
                    const auto &b = message->external->bytes;
                    got.emplace_back(reinterpret_cast<const char *>(b.data()), b.size());
                    if (b.data() >= begin && b.data() < begin + writable.size()) {
                        ++adopted;
                        const auto at = std::size_t(b.data() - begin);
                        untouched.replace(at, b.size(), chunk.substr(at, b.size()));
                    }
                }
                QVERIFY2(untouched == chunk, chunking.name.c_str());
                scratch.events.clear();
            }
            QVERIFY2(got == expected, chunking.name.c_str());
            QCOMPARE(allocator.alive, 0);
            if (!adoptInput)
                QCOMPARE(adopted, 0);   // declined: allocate() as before
            else if (chunking.chunks.size() == 1)
                QCOMPARE(adopted, externalMessages);   // everything in one receive: nothing copied
            QCOMPARE(external, externalMessages);
            QCOMPARE(adopted + allocator.calls, external);   // each one adopted or allocated, never both
            if (chunking.chunks.size() == 1)
                QCOMPARE(inPlace, inPlaceMessages);
        }
    }
}

// ServerConnection::payloadSink(): once a large binary message's header is in, the rest of its payload
// may be read straight into the receiver's storage; receivedInPlace() unmasks it there. Pieces of odd
// sizes keep the mask phase; the message and what follows come out as with receive().
void tst_Connection::largeBinaryReadStraightIntoStorage()
{
    std::string big(200 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = char(i * 13 + i / 7);
    const std::string frame = binaryFrame(big);
    const std::size_t header = frame.size() - big.size();
    const std::string next = textFrame("after");
    CountingAllocator allocator;
    ReceiveScratch scratch;
    scratch.allocator = &allocator;
    ServerConnection c;
    openConnection(c);
    c.receive(bytes(std::string_view(frame).substr(0, header + 1000)), scratch);
    QVERIFY(scratch.events.empty());
    std::span<std::byte> sink = c.payloadSink();
    QCOMPARE(sink.size(), big.size() - 1000);
    std::size_t at = header + 1000;
    for (const std::size_t piece : {std::size_t(7), std::size_t(4096), std::size_t(1), std::size_t(65537)}) {
        sink = c.payloadSink();
        std::memcpy(sink.data(), frame.data() + at, piece);   // as recv() would write it
        c.receivedInPlace(piece, scratch);
        at += piece;
        QVERIFY(scratch.events.empty());
    }
    sink = c.payloadSink();
    QCOMPARE(sink.size(), frame.size() - at);
    std::memcpy(sink.data(), frame.data() + at, sink.size());
    c.receivedInPlace(sink.size(), scratch);
    QVERIFY(c.payloadSink().empty());   // the message is complete
    c.receive(bytes(next), scratch);
    QCOMPARE(scratch.events.size(), std::size_t(2));
    const auto &message = std::get<Message>(scratch.events[0]);
    QVERIFY(message.external);
    QCOMPARE(std::string(reinterpret_cast<const char *>(message.external->bytes.data()), message.external->bytes.size()),
             big);
    QCOMPARE(std::get<Message>(scratch.events[1]).payload, std::string("after"));
    QCOMPARE(allocator.calls, 1);
    c.receivedInPlace(0, scratch);   // nothing to take: a no-op
    QCOMPARE(scratch.events.size(), std::size_t(2));
}

void tst_Connection::payloadSinkOnlyForExternalStorage()
{
    const std::string big(100000, 'x');
    const auto sinkAfter = [](const std::string &wire, std::size_t keepBack, bool withAllocator) {
        CountingAllocator allocator;
        ReceiveScratch scratch;
        if (withAllocator)
            scratch.allocator = &allocator;
        ServerConnection c;
        openConnection(c);
        c.receive(bytes(std::string_view(wire).substr(0, wire.size() - keepBack)), scratch);
        return c.payloadSink().size();
    };
    QCOMPARE(sinkAfter(binaryFrame(big), 50000, true), std::size_t(50000));
    QCOMPARE(sinkAfter(binaryFrame(big), 50000, false), std::size_t(0));   // no receiver storage
    QCOMPARE(sinkAfter(textFrame(big), 50000, true), std::size_t(0));      // text is validated as it comes
    QCOMPARE(sinkAfter(binaryFrame(big, false), 50000, true), std::size_t(0));   // fragmented: size unknown
    QCOMPARE(sinkAfter(binaryFrame(big.substr(0, 4000)), 1000, true), std::size_t(0));   // below externalMin
    QCOMPARE(sinkAfter(binaryFrame(big), 0, true), std::size_t(0));        // complete already
    QCOMPARE(sinkAfter(binaryFrame(big).substr(0, 2), 0, true), std::size_t(0));   // half a header
}

void tst_Connection::receiverStorageIsReleasedOnFailure()
{
    // A connection that goes away in the middle of a large message gives the storage back (a single
    // frame's payload cannot fail half-way; the connection can end), and a declined allocation falls
    // back to the usual std::string.
    const std::string big(6000, 'z');
    const std::string frame = binaryFrame(big);
    CountingAllocator allocator;
    ReceiveScratch scratch;
    scratch.allocator = &allocator;
    {
        ServerConnection c;
        openConnection(c);
        c.receive(bytes(std::string_view(frame).substr(0, 3000)), scratch);
        QCOMPARE(allocator.alive, 1);   // half a message in the storage
        QVERIFY(scratch.events.empty());
        c.receiveEof();
    }   // destroyed mid-message
    QCOMPARE(allocator.alive, 0);
    allocator.decline = true;
    ServerConnection c;
    openConnection(c);
    c.receive(bytes(frame), scratch);
    QCOMPARE(scratch.events.size(), std::size_t(1));
    QCOMPARE(std::get<Message>(scratch.events.front()).payload, big);
    QVERIFY(!std::get<Message>(scratch.events.front()).external);
    QCOMPARE(allocator.calls, 2);
}

QTEST_APPLESS_MAIN(tst_Connection)
#include "tst_connection.moc"
