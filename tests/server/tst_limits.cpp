// SPDX-License-Identifier: BSD-3-Clause
// Limits of the engine: inbound backpressure with a slow owner, outbound policies, size limits,
// keepalive, idle timeout, running out of descriptors.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>

#include <sys/resource.h>

using namespace testsupport;

class tst_Limits : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void floodedSlowOwnerStaysBounded();
    void readingResumesWhileOwnerBlocksAfterDraining();
    void outboundRejectSends_data();
    void outboundRejectSends();
    void outboundCloseConnection_data();
    void outboundCloseConnection();
    void maxMessageSizeCloses1009();
    void maxFrameSizeCloses1009();
    void keepAlivePingsIdleClients();
    void idleTimeoutCloses();
    void acceptErrorWhenOutOfDescriptors();
};

namespace {
constexpr qint64 kMiB = 1024 * 1024;

/// One engine thread, a 1 MiB inbound limit: the server flood_client.py floods.
bool listenForFlood(qws::WebSocketServer &server)
{
    server.setWorkerThreadCount(1);
    server.setMaxInboundQueue(kMiB);
    return server.listen(QHostAddress::LocalHost);
}
} // namespace

void tst_Limits::floodedSlowOwnerStaysBounded()
{
    constexpr int kCount = 640;
    constexpr int kSize = 64 * 1024;   // 40 MiB in all
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(listenForFlood(server));
    qws::WebSocket *socket = nullptr;
    int received = 0;
    bool inOrder = true;
    bool done = false;
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        socket = server.nextPendingConnection();
        connect(socket, &qws::WebSocket::binaryMessageReceived, this, [&](const QByteArray &m) {
            quint64 sequence = 0;
            for (int i = 0; i < 8; ++i)
                sequence = (sequence << 8) | quint8(m[i]);
            inOrder = inOrder && sequence == quint64(received) && m.size() == kSize;
            ++received;
        });
        connect(socket, &qws::WebSocket::textMessageReceived, this, [&](const QString &m) {
            done = m == QLatin1String("done");
            socket->close();
        });
    });
    QProcess client;
    startClient(client, QStringLiteral("flood_client.py"),
                {server.serverUrl().toString(), QString::number(kCount), QString::number(kSize)});
    QTRY_VERIFY_WITH_TIMEOUT(socket, 10000);
    std::unique_ptr<qws::WebSocket> owner(socket);

    // The owner thread (this one) now stops processing events while the client floods.
    const qint64 rssBefore = residentKiB();
    QElapsedTimer timer;
    timer.start();
    // Undelivered bytes pass the limit exactly when the engine stops reading (and only then).
    qws::ConnectionStats stats = socket->stats();
    while (stats.inboundQueued <= kMiB && timer.elapsed() < 20000) {
        QThread::msleep(5);
        stats = socket->stats();
    }
    QVERIFY2(stats.readPauses >= 1, "the engine never stopped reading");
    // While the owner stays behind, reading stays paused: nothing more is read or queued.
    QThread::msleep(300);
    const qws::ConnectionStats later = socket->stats();
    QCOMPARE(later.bytesReceived, stats.bytesReceived);
    QCOMPARE(later.inboundQueued, stats.inboundQueued);
    QVERIFY(later.inboundQueued > kMiB);
    QVERIFY2(later.inboundQueued <= kMiB + 256 * 1024 + kSize, QByteArray::number(later.inboundQueued).constData());
    QVERIFY(later.bytesReceived < quint64(kCount) * kSize / 2);   // most of the flood is still at the client
    const qint64 rssDuring = residentKiB();
    QVERIFY2(rssDuring - rssBefore < 16 * 1024, QByteArray::number(rssDuring - rssBefore).constData());

    // The owner catches up: every message arrives, in order, and the flood completes.
    QTRY_VERIFY_WITH_TIMEOUT(done, 30000);
    QCOMPARE(received, kCount);
    QVERIFY(inOrder);
    QVERIFY(socket->stats().readPauses >= 1);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QProcess::NotRunning, 10000);
    QCOMPARE(client.exitCode(), 0);
    QVERIFY(client.readAllStandardOutput().contains("sent 640"));
}

// The owner takes a paused socket's queue down to half the limit and then blocks (here: inside the slot of
// the first message after the pause, without returning to its event loop). The engine must read again at
// once, not at the owner's next pass: reading pauses a second time while the owner is still blocked.
void tst_Limits::readingResumesWhileOwnerBlocksAfterDraining()
{
    constexpr int kCount = 640;
    constexpr int kSize = 64 * 1024;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(listenForFlood(server));
    qws::WebSocket *socket = nullptr;
    int received = 0;
    bool blocked = false;
    qint64 pausesWhileBlocked = -1;
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        socket = server.nextPendingConnection();
        connect(socket, &qws::WebSocket::binaryMessageReceived, this, [&](const QByteArray &) {
            ++received;
            const qws::ConnectionStats stats = socket->stats();
            if (blocked || stats.readPauses < 1 || stats.inboundQueued > kMiB / 2)
                return;
            blocked = true;   // the queue was just taken below half the limit: resumed
            QElapsedTimer timer;
            timer.start();
            while (socket->stats().readPauses < stats.readPauses + 1 && timer.elapsed() < 10000)
                QThread::msleep(5);
            pausesWhileBlocked = socket->stats().readPauses - stats.readPauses;
        });
        connect(socket, &qws::WebSocket::textMessageReceived, this, [&] { socket->close(); });
    });
    QProcess client;
    startClient(client, QStringLiteral("flood_client.py"),
                {server.serverUrl().toString(), QString::number(kCount), QString::number(kSize)});
    QTRY_VERIFY_WITH_TIMEOUT(socket, 10000);
    std::unique_ptr<qws::WebSocket> owner(socket);
    QTRY_VERIFY_WITH_TIMEOUT(blocked && pausesWhileBlocked >= 0, 30000);
    QCOMPARE(pausesWhileBlocked, qint64(1));   // it read on, up to the limit, while we did not return
    QTRY_COMPARE_WITH_TIMEOUT(received, kCount, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QProcess::NotRunning, 10000);
    QCOMPARE(client.exitCode(), 0);
}

namespace {
/// The two ways send…() hands a message over: large ones as they are (binary: shared, never copied),
/// small ones framed in place into the outbound buffer (Channel::submitFrame(), 64 KiB per chunk).
void outboundRows()
{
    QTest::addColumn<QByteArray>("chunk");
    QTest::addColumn<bool>("text");
    QTest::addColumn<qint64>("keptAfterDrop");   // what a frame (or chunk of frames) on the wire may keep
    QTest::newRow("256 KiB binary, handed over") << QByteArray(256 * 1024, 'b') << false << qint64(256 * 1024 + 14);
    QTest::newRow("1 KiB text, framed by the owner") << QByteArray(1024, 't') << true << qint64(64 * 1024 + 14);
}

qint64 sendOne(qws::WebSocket &socket, const QByteArray &chunk, bool text)
{
    return text ? socket.sendTextMessage(QString::fromLatin1(chunk)) : socket.sendBinaryMessage(chunk);
}
} // namespace

void tst_Limits::outboundRejectSends_data()
{
    outboundRows();
}

void tst_Limits::outboundRejectSends()
{
    QFETCH(QByteArray, chunk);
    QFETCH(bool, text);
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxOutboundQueue(kMiB, qws::OutboundPolicy::RejectSends);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient reader;   // reads only when we say so
    std::unique_ptr<qws::WebSocket> socket(acceptRaw(server, reader, 4096));
    QVERIFY(socket);
    QSignalSpy full(socket.get(), &qws::WebSocket::outboundQueueFull);
    const int most = int(4 * kMiB / chunk.size());
    qint64 result = 0;
    int accepted = 0;
    while (accepted < most && (result = sendOne(*socket, chunk, text)) > 0)
        ++accepted;
    QCOMPARE(result, qint64(-1));
    QVERIFY(accepted < most);
    QCOMPARE(full.size(), 1);
    QCOMPARE(socket->state(), QAbstractSocket::ConnectedState);   // RejectSends keeps the connection
    QVERIFY(socket->bytesToWrite() <= kMiB + chunk.size() + 14);
    // Meanwhile the engine may still be moving bytes into the kernel's send buffer (it grows while the
    // connection is young), so a send refused a moment ago may fit now (seen under a loaded ctest -j2).
    // Once nothing moves, top the queue up again (a drain in between may count as a new overflow):
    // then every further send is refused, and none signals again.
    for (qint64 last = -1; last != socket->bytesToWrite();) {
        last = socket->bytesToWrite();
        QTest::qWait(100);
    }
    while (sendOne(*socket, chunk, text) > 0) {
    }
    const qsizetype signalled = full.size();
    QVERIFY(signalled == 1 || signalled == 2);
    QCOMPARE(sendOne(*socket, chunk, text), qint64(-1));
    QCOMPARE(sendOne(*socket, chunk, text), qint64(-1));
    QCOMPARE(full.size(), signalled);   // signalled once per overflow, not per refused send

    // The client reads everything: the queue drains and sends are accepted again.
    QElapsedTimer timer;
    timer.start();
    while (socket->bytesToWrite() > 0 && timer.elapsed() < 10000)
        reader.readUntil("never", 20);
    QCOMPARE(socket->bytesToWrite(), qint64(0));
    QCOMPARE(sendOne(*socket, chunk, text), qint64(chunk.size()));
}

void tst_Limits::outboundCloseConnection_data()
{
    outboundRows();
}

void tst_Limits::outboundCloseConnection()
{
    QFETCH(QByteArray, chunk);
    QFETCH(bool, text);
    QFETCH(qint64, keptAfterDrop);
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxOutboundQueue(kMiB);   // CloseConnection is the default policy
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient reader;
    std::unique_ptr<qws::WebSocket> socket(acceptRaw(server, reader, 4096));
    QVERIFY(socket);
    QSignalSpy full(socket.get(), &qws::WebSocket::outboundQueueFull);
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    const int most = int(4 * kMiB / chunk.size());
    int accepted = 0;
    while (accepted < most && sendOne(*socket, chunk, text) > 0)
        ++accepted;
    QVERIFY(accepted < most);
    QCOMPARE(full.size(), 1);
    QCOMPARE(socket->state(), QAbstractSocket::ClosingState);
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodePolicyViolated);
    // Unsent messages are dropped at once; only what is already half on the wire stays (a frame, or a
    // chunk of small frames built together).
    QTRY_VERIFY2(socket->bytesToWrite() <= keptAfterDrop, qPrintable(QString::number(socket->bytesToWrite())));
    reader.close();   // the client goes away without reading
    QTRY_COMPARE(disconnected.size(), 1);
}

void tst_Limits::maxMessageSizeCloses1009()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxMessageSize(1000);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    client.open(server.serverUrl());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    QSignalSpy echo(&client, &QWebSocket::binaryMessageReceived);
    client.sendBinaryMessage(QByteArray(1000, 'k'));   // at the limit: fine
    QTRY_COMPARE(echo.size(), 1);
    client.sendBinaryMessage(QByteArray(1001, 'k'));
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(client.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
    QCOMPARE(echo.size(), 1);
}

void tst_Limits::maxFrameSizeCloses1009()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxFrameSize(500);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    client.setOutgoingFrameSize(400);   // a 1000-byte message in three frames: each within the limit
    client.open(server.serverUrl());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    QSignalSpy echo(&client, &QWebSocket::binaryMessageReceived);
    client.sendBinaryMessage(QByteArray(1000, 'f'));
    QTRY_COMPARE(echo.size(), 1);
    QCOMPARE(echo.at(0).at(0).toByteArray(), QByteArray(1000, 'f'));
    client.setOutgoingFrameSize(600);   // now one frame is over the limit
    client.sendBinaryMessage(QByteArray(1000, 'f'));
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(client.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
}

void tst_Limits::keepAlivePingsIdleClients()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setKeepAliveInterval(std::chrono::milliseconds(100));
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;   // answers pings by itself
    client.open(server.serverUrl());
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> socket(server.nextPendingConnection());
    QSignalSpy pong(socket.get(), &qws::WebSocket::pong);
    QTRY_VERIFY(socket->stats().roundTripTimeUs >= 0);   // measured without anyone calling ping()
    QVERIFY(pong.isEmpty());                              // keepalive pongs are not signalled
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
}

void tst_Limits::idleTimeoutCloses()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setIdleTimeout(std::chrono::milliseconds(300));
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    client.open(server.serverUrl());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    QElapsedTimer silent;
    silent.start();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
    QVERIFY(silent.elapsed() >= 250);
    QCOMPARE(client.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
}

void tst_Limits::acceptErrorWhenOutOfDescriptors()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    QSignalSpy acceptError(&server, &qws::WebSocketServer::acceptError);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    server.pauseAccepting();
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));   // completes in the kernel's backlog

    // Leave no descriptor free: the engine's accept4() fails with EMFILE.
    rlimit saved{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    const int lowestFree = ::dup(0);
    QVERIFY(lowestFree >= 0);
    ::close(lowestFree);
    rlimit tight = saved;
    tight.rlim_cur = rlim_t(lowestFree);
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &tight), 0);
    server.resumeAccepting();
    const bool reported = QTest::qWaitFor([&] { return !acceptError.isEmpty(); }, 5000);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    QVERIFY(reported);
    QCOMPARE(acceptError.at(0).at(0).value<QAbstractSocket::SocketError>(), QAbstractSocket::SocketResourceError);

    // With descriptors back, the engine retries by itself and the client gets its upgrade.
    QVERIFY(client.send(upgradeRequest()));
    QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
    QTRY_COMPARE(newConnection.size(), 1);
    delete server.nextPendingConnection();
}

QTEST_GUILESS_MAIN(tst_Limits)
#include "tst_limits.moc"
