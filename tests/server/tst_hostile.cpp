// SPDX-License-Identifier: BSD-3-Clause
// Hostile peers over real loopback sockets: slowloris, oversized headers, a 2^63 frame length, an inflate
// bomb, endless fragments, a ping flood, a client that never reads. Each ends with the server still serving.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QElapsedTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>
#include <vector>

#include <zlib.h>

using namespace testsupport;

class tst_Hostile : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void slowlorisDroppedAtHandshakeTimeout();
    void oversizedRequestHeaders400();
    void frameLength2To63Closes1002();
    void inflateBombCloses1009();
    void endlessFragmentsClose1009();
    void pingFloodAnsweredAndBounded();
    void clientThatNeverReadsIsBounded();
};

namespace {
constexpr qint64 kKiB = 1024;

/// The close code of the first close frame in the server's (unmasked) frames after the 101 response;
/// -1 when there is none.
int closeCodeIn(const QByteArray &received)
{
    const qsizetype start = received.indexOf("\r\n\r\n");
    if (start < 0)
        return -1;
    const QByteArray frames = received.mid(start + 4);
    qsizetype at = 0;
    while (at + 2 <= frames.size()) {
        const quint8 opcode = quint8(frames[at]) & 0x0f;
        qint64 length = quint8(frames[at + 1]) & 0x7f;
        qsizetype header = 2;
        if (length == 126) {
            if (at + 4 > frames.size())
                return -1;
            length = (quint8(frames[at + 2]) << 8) | quint8(frames[at + 3]);
            header = 4;
        } else if (length == 127) {
            if (at + 10 > frames.size())
                return -1;
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | quint8(frames[at + 2 + i]);
            header = 10;
        }
        if (opcode == 0x8)
            return length >= 2 && at + header + 2 <= frames.size()
                       ? (quint8(frames[at + header]) << 8) | quint8(frames[at + header + 1])
                       : 1005;
        at += header + length;
    }
    return -1;
}

/// Counts complete server frames with `opcode` after the 101 response.
int countFrames(const QByteArray &received, quint8 wanted)
{
    const qsizetype start = received.indexOf("\r\n\r\n");
    const QByteArray frames = received.mid(start + 4);
    int count = 0;
    qsizetype at = 0;
    while (at + 2 <= frames.size()) {
        qint64 length = quint8(frames[at + 1]) & 0x7f;
        qsizetype header = 2;
        if (length >= 126)   // pongs here are small; anything larger ends the count
            break;
        if (at + header + length > frames.size())
            break;
        count += (quint8(frames[at]) & 0x0f) == wanted;
        at += header + length;
    }
    return count;
}

/// A raw RFC 7692 deflate of `plain` (no trailing 00 00 ff ff), for a compressed client frame.
QByteArray rawDeflate(const QByteArray &plain)
{
    z_stream s{};
    deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
    QByteArray out(qsizetype(deflateBound(&s, uLong(plain.size())) + 16), '\0');
    s.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(plain.constData()));
    s.avail_in = uInt(plain.size());
    s.next_out = reinterpret_cast<Bytef *>(out.data());
    s.avail_out = uInt(out.size());
    deflate(&s, Z_SYNC_FLUSH);
    out.resize(out.size() - s.avail_out);
    deflateEnd(&s);
    out.chop(4);
    return out;
}

/// One echo round trip through a fresh QWebSocket: the server still serves.
bool echoesWithQWebSocket(const QUrl &url, const QString &text = QStringLiteral("still here"))
{
    QWebSocket client;
    QString answer;
    QObject::connect(&client, &QWebSocket::textMessageReceived, &client, [&](const QString &m) { answer = m; });
    QObject::connect(&client, &QWebSocket::connected, &client, [&] { client.sendTextMessage(text); });
    client.open(url);
    const bool ok = QTest::qWaitFor([&] { return answer == text; }, 5000);
    client.close();
    return ok;
}

/// A raw client past the opening handshake (101 seen), with `extraHeaders` in its request.
bool upgraded(RawClient &raw, quint16 port, const QByteArray &extraHeaders = {})
{
    return raw.connectTo(port) && raw.send(upgradeRequest("/", extraHeaders))
        && raw.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101");
}
} // namespace

void tst_Hostile::slowlorisDroppedAtHandshakeTimeout()
{
    constexpr int kSlow = 500;
    constexpr int kTimeoutMs = 500;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(kTimeoutMs);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));

    std::vector<std::unique_ptr<RawClient>> slow;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < kSlow; ++i) {
        slow.push_back(std::make_unique<RawClient>());
        QVERIFY(slow.back()->connectTo(server.serverPort()));
        // A request that never ends: the blank line never comes.
        QVERIFY(slow.back()->send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"));
    }
    // Meanwhile, normal clients keep connecting and echoing.
    for (int i = 0; i < 5; ++i)
        QVERIFY2(echoesWithQWebSocket(server.serverUrl(), QStringLiteral("normal %1").arg(i)),
                 "a normal client was starved by the slowloris connections");
    int closed = 0, with408 = 0;
    for (auto &raw : slow) {
        closed += raw->waitForClose(int(qMax<qint64>(1, kTimeoutMs + 3000 - timer.elapsed())));
        with408 += raw->buffer().startsWith("HTTP/1.1 408");
    }
    QCOMPARE(closed, kSlow);
    QCOMPARE(with408, kSlow);
    QVERIFY2(timer.elapsed() < kTimeoutMs + 3000, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::oversizedRequestHeaders400()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    // 20 KiB of headers in 1 KiB lines: past the 16 KiB header block, each line under the 8 KiB line limit.
    QByteArray headers;
    for (int i = 0; i < 20; ++i)
        headers += "X-Filler-" + QByteArray::number(i) + ": " + QByteArray(1000, 'a') + "\r\n";
    RawClient blockTooBig;
    QVERIFY(blockTooBig.connectTo(server.serverPort()));
    blockTooBig.send(upgradeRequest("/", headers));
    QVERIFY(blockTooBig.waitForClose());
    QVERIFY2(blockTooBig.buffer().startsWith("HTTP/1.1 400"), blockTooBig.buffer().left(80).constData());

    // One 10 KiB line, and 150 small headers: each past its own limit.
    for (const QByteArray &extra : {"X-Long: " + QByteArray(10 * kKiB, 'b') + "\r\n",
                                    QByteArray("X-Many: 1\r\n").repeated(150)}) {
        RawClient raw;
        QVERIFY(raw.connectTo(server.serverPort()));
        raw.send(upgradeRequest("/", extra));
        QVERIFY(raw.waitForClose());
        QVERIFY2(raw.buffer().startsWith("HTTP/1.1 400"), raw.buffer().left(80).constData());
    }
    // A header block that never ends (no blank line) is cut off at the limit, not buffered forever.
    RawClient endless;
    QVERIFY(endless.connectTo(server.serverPort()));
    endless.send("GET / HTTP/1.1\r\n");
    for (int i = 0; i < 64 && !endless.waitForClose(1); ++i)
        endless.send("X-Endless-" + QByteArray::number(i) + ": " + QByteArray(500, 'c') + "\r\n");
    QVERIFY(endless.waitForClose());
    QVERIFY(endless.buffer().startsWith("HTTP/1.1 400"));
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::frameLength2To63Closes1002()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    QVERIFY(upgraded(raw, server.serverPort()));
    // Binary, FIN, masked, 64-bit length with the most significant bit set (RFC 6455 §5.2 forbids it).
    QByteArray frame("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" "\x11\x22\x33\x44", 14);
    QVERIFY(raw.send(frame));
    QVERIFY(raw.waitForClose());
    QCOMPARE(closeCodeIn(raw.buffer()), 1002);
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::inflateBombCloses1009()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxMessageSize(1024 * kKiB);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    QVERIFY(upgraded(raw, server.serverPort(), "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    QVERIFY(raw.buffer().contains("permessage-deflate"));
    // 64 MiB of zeros deflate to ~64 KiB: one small frame that would inflate 64 times past the limit.
    const QByteArray bomb = rawDeflate(QByteArray(64 * 1024 * kKiB, '\0'));
    QVERIFY(bomb.size() < 128 * kKiB);
    QByteArray frame = clientFrame(0x2, bomb);
    frame[0] = char(quint8(frame[0]) | 0x40);   // RSV1: compressed
    const qint64 before = residentKiB();
    QVERIFY(raw.send(frame));
    QVERIFY(raw.waitForClose());
    QCOMPARE(closeCodeIn(raw.buffer()), 1009);
    // Fail fast: the server stopped inflating near the limit instead of materialising 64 MiB.
    QVERIFY2(residentKiB() - before < 32 * 1024, qPrintable(QString::number(residentKiB() - before)));
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::endlessFragmentsClose1009()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxMessageSize(256 * kKiB);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    QVERIFY(upgraded(raw, server.serverPort()));
    const QByteArray chunk(4 * kKiB, 'x');
    QVERIFY(raw.send(clientFrame(0x2, chunk, false)));
    // Continuations without FIN, far past the limit if nobody stopped them (bounded: 1024 × 4 KiB).
    int sent = 1;
    for (; sent < 1024; ++sent) {
        if (!raw.send(clientFrame(0x0, chunk, false)))
            break;   // the server closed: a reset while we still write is fine
        if (sent % 64 == 0 && raw.waitForClose(1))
            break;
    }
    QVERIFY(raw.waitForClose());
    QCOMPARE(closeCodeIn(raw.buffer()), 1009);
    QVERIFY2(sent < 1024, "the server kept accepting fragments past the message limit");
    QVERIFY(sent * chunk.size() >= 256 * kKiB - chunk.size());
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::pingFloodAnsweredAndBounded()
{
    constexpr int kPings = 5000;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    QVERIFY(upgraded(raw, server.serverPort()));
    const qint64 before = residentKiB();
    QByteArray flood;
    for (int i = 0; i < kPings; ++i)
        flood += clientFrame(0x9, QByteArray::number(i).rightJustified(8, '0'));
    QVERIFY(raw.send(flood));
    QVERIFY(raw.send(clientFrame(0x1, "after the flood")));
    // The echo is made on this thread: keep its event loop turning while reading.
    QElapsedTimer timer;
    timer.start();
    while (!raw.buffer().contains("after the flood") && timer.elapsed() < 15000) {
        QTest::qWait(5);
        raw.readUntil("after the flood", 5);
    }
    QCOMPARE(countFrames(raw.buffer(), 0xA), kPings);   // every ping answered (RFC 6455 §5.5.2)
    QVERIFY(raw.buffer().endsWith("after the flood"));   // and the connection still echoes
    QVERIFY2(residentKiB() - before < 16 * 1024, qPrintable(QString::number(residentKiB() - before)));
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

void tst_Hostile::clientThatNeverReadsIsBounded()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxOutboundQueue(1024 * kKiB);   // CloseConnection: 1008
    qws::WebSocket *socket = nullptr;
    const QMetaObject::Connection take = connect(&server, &qws::WebSocketServer::newConnection, this,
                                                 [&] { socket = server.nextPendingConnection(); });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    QVERIFY(raw.connectTo(server.serverPort(), 16 * 1024));   // small receive buffer, never read
    QVERIFY(raw.send(upgradeRequest()));
    QTRY_VERIFY_WITH_TIMEOUT(socket, 5000);
    std::unique_ptr<qws::WebSocket> owner(socket);
    QSignalSpy full(socket, &qws::WebSocket::outboundQueueFull);
    QSignalSpy disconnected(socket, &qws::WebSocket::disconnected);
    const QByteArray block(64 * kKiB, 'z');
    const qint64 before = residentKiB();
    int accepted = 0;
    for (int i = 0; i < 1000 && full.isEmpty(); ++i) {   // 64 MiB if nothing stopped it
        accepted += socket->sendBinaryMessage(block) > 0;
        if (i % 16 == 0)
            QTest::qWait(1);
    }
    QVERIFY2(!full.isEmpty(), "the outbound policy never applied");
    QVERIFY(accepted < 1000);
    QVERIFY(socket->bytesToWrite() <= 1024 * kKiB + block.size());
    QTRY_VERIFY_WITH_TIMEOUT(!disconnected.isEmpty(), 10000);
    // The engine closes with 1008; a peer that never reads never answers it, so after the close timeout
    // the owner sees the TCP drop (1006) unless the close frame got through.
    QVERIFY2(socket->closeCode() == qws::WebSocketProtocol::CloseCodePolicyViolated
                 || socket->closeCode() == qws::WebSocketProtocol::CloseCodeAbnormalDisconnection,
             qPrintable(QString::number(int(socket->closeCode()))));
    QVERIFY2(residentKiB() - before < 32 * 1024, qPrintable(QString::number(residentKiB() - before)));
    disconnect(take);
    installEcho(server);
    QVERIFY(echoesWithQWebSocket(server.serverUrl()));
}

QTEST_GUILESS_MAIN(tst_Hostile)
#include "tst_hostile.moc"
