// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocket, the server side of a connection: every member and signal, with Qt's QWebSocket as client.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>
#include <readblocks_p.h>

#include <algorithm>
#include <deque>
#include <set>

#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>
#include <utility>

using namespace testsupport;

namespace {
/// Message `i` of a test: `size` bytes that differ from every other message's.
QByteArray patterned(int i, qsizetype size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (qsizetype k = 0; k < size; ++k)
        bytes[k] = char((i * 131 + k * 7) & 0xff);
    return bytes;
}
} // namespace

class tst_WebSocket : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();
    void cleanup();

    void messagesAndFrameSignals();
    void signalsConnectedLaterOrInASlotAreEmitted();
    void connectionInfo();
    void hostAndOriginAsTheParserChose();
    void pingMeasuresRoundTrip();
    void clientPingIsAnswered();
    void closeFromServer();
    void closeFromClient();
    void abortDisconnectsAtOnce();
    void peerDropsTcp();
    void bytesToWriteAndBytesWritten();
    void pauseAndResumeReading();
    void messagesBeforeClaimAreKept();
    void moveToThreadDeliversThere();
    void statsCount();
    void protocolErrorClosesWith1002();
    void deletingTheSocketSendsGoingAway();
    void bigBatchIsDeliveredInSlices();
    void keptBinaryMessagesStayIntact();
    void readBlocksAreReusedWhileMessagesLive();

private:
    /// Connects `client` and returns the server side of the connection (owned by the caller).
    qws::WebSocket *accept(QWebSocket &client, const QString &path = QStringLiteral("/"));

    std::unique_ptr<qws::WebSocketServer> m_server;
};

void tst_WebSocket::init()
{
    m_server = std::make_unique<qws::WebSocketServer>(QStringLiteral("tst"), qws::WebSocketServer::NonSecureMode);
    m_server->setWorkerThreadCount(2);
    QVERIFY(m_server->listen(QHostAddress::LocalHost));
}

void tst_WebSocket::cleanup()
{
    m_server.reset();
}

qws::WebSocket *tst_WebSocket::accept(QWebSocket &client, const QString &path)
{
    QSignalSpy newConnection(m_server.get(), &qws::WebSocketServer::newConnection);
    QUrl url = m_server->serverUrl();
    url.setPath(path.section(QLatin1Char('?'), 0, 0));
    url.setQuery(path.section(QLatin1Char('?'), 1));
    client.open(url);
    if (!QTest::qWaitFor([&] { return client.state() == QAbstractSocket::ConnectedState && !newConnection.isEmpty(); }, 5000))
        return nullptr;
    return m_server->nextPendingConnection();
}

void tst_WebSocket::messagesAndFrameSignals()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QStringList order;
    connect(socket.get(), &qws::WebSocket::textFrameReceived, this,
            [&](const QString &frame, bool last) { order << QStringLiteral("textFrame:%1:%2").arg(frame).arg(last); });
    connect(socket.get(), &qws::WebSocket::textMessageReceived, this,
            [&](const QString &message) { order << QStringLiteral("text:") + message; });
    connect(socket.get(), &qws::WebSocket::binaryFrameReceived, this,
            [&](const QByteArray &frame, bool last) { order << QStringLiteral("binaryFrame:%1:%2").arg(frame.size()).arg(last); });
    connect(socket.get(), &qws::WebSocket::binaryMessageReceived, this,
            [&](const QByteArray &message) { order << QStringLiteral("binary:%1").arg(message.size()); });
    client.sendTextMessage(QStringLiteral("grüß dich"));
    client.sendBinaryMessage(QByteArray(3000, '\x7f'));
    QTRY_COMPARE(order.size(), 4);
    QCOMPARE(order, (QStringList{QStringLiteral("textFrame:grüß dich:1"), QStringLiteral("text:grüß dich"),
                                 QStringLiteral("binaryFrame:3000:1"), QStringLiteral("binary:3000")}));

    QSignalSpy text(&client, &QWebSocket::textMessageReceived);
    QSignalSpy binary(&client, &QWebSocket::binaryMessageReceived);
    QCOMPARE(socket->sendTextMessage(QStringLiteral("grüß")), qint64(QByteArray("grüß").size()));
    QCOMPARE(socket->sendBinaryMessage(QByteArray(70000, 'b')), qint64(70000));
    QTRY_COMPARE(binary.size(), 1);
    QCOMPARE(text.size(), 1);
    QCOMPARE(text.at(0).at(0).toString(), QStringLiteral("grüß"));
    QCOMPARE(binary.at(0).at(0).toByteArray(), QByteArray(70000, 'b'));
}

// Unconnected per-socket signals are not emitted at all (WebSocket::connectNotify() records what is watched):
// a connection made after some messages, or inside a slot of an earlier signal of the same message, must
// still get every message from then on.
void tst_WebSocket::signalsConnectedLaterOrInASlotAreEmitted()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QStringList seen;
    // Only the server-level signal at first: the socket's own signals are unwatched.
    connect(m_server.get(), &qws::WebSocketServer::textMessageReceived, this,
            [&](qws::WebSocket *, const QString &message) { seen << QStringLiteral("server:") + message; });
    connect(m_server.get(), &qws::WebSocketServer::binaryMessageReceived, this,
            [&](qws::WebSocket *, const QByteArray &message) { seen << QStringLiteral("server:%1").arg(message.size()); });
    client.sendTextMessage(QStringLiteral("one"));
    QTRY_COMPARE(seen, QStringList{QStringLiteral("server:one")});

    // The frame signal's slot connects the message signals during the emission of the same message.
    bool connected = false;
    connect(socket.get(), &qws::WebSocket::textFrameReceived, this, [&](const QString &frame, bool) {
        seen << QStringLiteral("textFrame:") + frame;
        if (std::exchange(connected, true))
            return;
        connect(socket.get(), &qws::WebSocket::textMessageReceived, this,
                [&](const QString &message) { seen << QStringLiteral("text:") + message; });
        connect(socket.get(), &qws::WebSocket::binaryMessageReceived, this,
                [&](const QByteArray &message) { seen << QStringLiteral("binary:%1").arg(message.size()); });
    });
    client.sendTextMessage(QStringLiteral("two"));
    client.sendBinaryMessage(QByteArray(5, 'b'));
    QTRY_COMPARE(seen.size(), 6);
    QCOMPARE(seen, (QStringList{QStringLiteral("server:one"), QStringLiteral("textFrame:two"), QStringLiteral("text:two"),
                                QStringLiteral("server:two"), QStringLiteral("binary:5"), QStringLiteral("server:5")}));

    // A binary frame signal connected now is emitted too, before the message signals.
    connect(socket.get(), &qws::WebSocket::binaryFrameReceived, this,
            [&](const QByteArray &frame, bool last) { seen << QStringLiteral("binaryFrame:%1:%2").arg(frame.size()).arg(last); });
    client.sendBinaryMessage(QByteArray(7, 'c'));
    QTRY_COMPARE(seen.size(), 9);
    QCOMPARE(seen.mid(6), (QStringList{QStringLiteral("binaryFrame:7:1"), QStringLiteral("binary:7"), QStringLiteral("server:7")}));
}

void tst_WebSocket::connectionInfo()
{
    QWebSocket client(QStringLiteral("http://origin.example"));
    QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/chat?room=1").arg(m_server->serverPort())));
    request.setRawHeader("X-Custom", "value 1");
    QSignalSpy newConnection(m_server.get(), &qws::WebSocketServer::newConnection);
    client.open(request);
    QTRY_VERIFY(client.state() == QAbstractSocket::ConnectedState && !newConnection.isEmpty());
    std::unique_ptr<qws::WebSocket> socket(m_server->nextPendingConnection());
    QVERIFY(socket);
    QVERIFY(socket->isValid());
    QCOMPARE(socket->state(), QAbstractSocket::ConnectedState);
    QVERIFY(socket->id() > 0);
    QCOMPARE(socket->localAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(socket->localPort(), m_server->serverPort());
    QCOMPARE(socket->peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(socket->peerPort(), client.localPort());
    QVERIFY(socket->peerName().isEmpty());
    QCOMPARE(socket->origin(), QStringLiteral("http://origin.example"));
    QCOMPARE(socket->requestUrl(),
             QUrl(QStringLiteral("ws://127.0.0.1:%1/chat?room=1").arg(m_server->serverPort())));
    QCOMPARE(socket->resourceName(), QStringLiteral("/chat"));
    QCOMPARE(socket->request().rawHeader("X-Custom"), QByteArray("value 1"));
    QCOMPARE(socket->request().url(), socket->requestUrl());
    bool found = false;
    for (const auto &header : socket->requestHeaders())
        found |= header.first.compare("x-custom", Qt::CaseInsensitive) == 0 && header.second == "value 1";
    QVERIFY(found);
    QCOMPARE(socket->version(), qws::WebSocketProtocol::Version13);
    QVERIFY(!socket->isCompressed());   // Qt's client does not offer permessage-deflate
    QVERIFY(socket->subprotocol().isEmpty());
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodeNormal);
    QVERIFY(socket->closeReason().isEmpty());
    QCOMPARE(socket->error(), QAbstractSocket::UnknownSocketError);
    QCOMPARE(socket->bytesToWrite(), qint64(0));
    QVERIFY(!socket->isReadingPaused());
}

/// The Host and Origin values are read back from the stored headers (not kept twice): whatever the
/// case of the names, the first Origin wins over Sec-WebSocket-Origin, which is used alone otherwise.
void tst_WebSocket::hostAndOriginAsTheParserChose()
{
    struct Case {
        QByteArray headers;
        QString origin;
    };
    const Case cases[] = {
        {"sec-websocket-origin: http://legacy.example\r\norigin: http://first.example\r\n"
         "ORIGIN: http://second.example\r\n", QStringLiteral("http://first.example")},
        {"Sec-WebSocket-Origin: http://legacy.example\r\n", QStringLiteral("http://legacy.example")},
        {"X-Origin: http://not-an-origin.example\r\n", QString()},
    };
    for (const Case &c : cases) {
        RawClient client;
        QVERIFY(client.connectTo(m_server->serverPort()));
        QVERIFY(client.send("GET /room?x=1 HTTP/1.1\r\nhOST: example.test:81\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n" + c.headers + "\r\n"));
        QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
        QTRY_VERIFY(m_server->hasPendingConnections());
        std::unique_ptr<qws::WebSocket> socket(m_server->nextPendingConnection());
        QCOMPARE(socket->origin(), c.origin);
        QCOMPARE(socket->requestUrl(), QUrl(QStringLiteral("ws://example.test:81/room?x=1")));
        QCOMPARE(socket->request().rawHeader("Host"), QByteArray("example.test:81"));
        QVERIFY(socket->subprotocol().isEmpty());
    }
}

void tst_WebSocket::pingMeasuresRoundTrip()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QCOMPARE(socket->stats().roundTripTimeUs, qint64(-1));
    QSignalSpy pong(socket.get(), &qws::WebSocket::pong);
    socket->ping(QByteArrayLiteral("are you there"));
    QTRY_COMPARE(pong.size(), 1);
    QCOMPARE(pong.at(0).at(1).toByteArray(), QByteArrayLiteral("are you there"));
    QVERIFY(pong.at(0).at(0).toULongLong() < 5000);
    QVERIFY(socket->stats().roundTripTimeUs >= 0);
}

void tst_WebSocket::clientPingIsAnswered()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QSignalSpy pong(&client, &QWebSocket::pong);
    client.ping(QByteArrayLiteral("42"));
    QTRY_COMPARE(pong.size(), 1);
    QCOMPARE(pong.at(0).at(1).toByteArray(), QByteArrayLiteral("42"));
}

void tst_WebSocket::closeFromServer()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QStringList order;
    connect(socket.get(), &qws::WebSocket::aboutToClose, this, [&] { order << QStringLiteral("aboutToClose"); });
    connect(socket.get(), &qws::WebSocket::stateChanged, this,
            [&](QAbstractSocket::SocketState s) { order << QStringLiteral("state:%1").arg(int(s)); });
    connect(socket.get(), &qws::WebSocket::disconnected, this, [&] { order << QStringLiteral("disconnected"); });
    socket->close(qws::WebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("bye now"));
    QCOMPARE(socket->state(), QAbstractSocket::ClosingState);
    QCOMPARE(socket->sendTextMessage(QStringLiteral("after close")), qint64(-1));
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(client.closeCode(), QWebSocketProtocol::CloseCodePolicyViolated);
    QCOMPARE(client.closeReason(), QStringLiteral("bye now"));
    QTRY_COMPARE(socket->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(order, (QStringList{QStringLiteral("aboutToClose"), QStringLiteral("state:%1").arg(int(QAbstractSocket::ClosingState)),
                                 QStringLiteral("state:%1").arg(int(QAbstractSocket::UnconnectedState)),
                                 QStringLiteral("disconnected")}));
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodePolicyViolated);
    QVERIFY(!socket->isValid());
}

void tst_WebSocket::closeFromClient()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QSignalSpy aboutToClose(socket.get(), &qws::WebSocket::aboutToClose);
    QSignalSpy stateChanged(socket.get(), &qws::WebSocket::stateChanged);
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    QSignalSpy errors(socket.get(), &qws::WebSocket::errorOccurred);
    client.close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("leaving"));
    QTRY_COMPARE(disconnected.size(), 1);
    QCOMPARE(aboutToClose.size(), 1);
    QCOMPARE(stateChanged.size(), 2);
    QCOMPARE(stateChanged.at(0).at(0).value<QAbstractSocket::SocketState>(), QAbstractSocket::ClosingState);
    QCOMPARE(stateChanged.at(1).at(0).value<QAbstractSocket::SocketState>(), QAbstractSocket::UnconnectedState);
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(socket->closeReason(), QStringLiteral("leaving"));
    QVERIFY(errors.isEmpty());   // a clean closing handshake is no error
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QTest::qWait(50);
    QCOMPARE(disconnected.size(), 1);   // exactly once
}

void tst_WebSocket::abortDisconnectsAtOnce()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    socket->abort();
    QCOMPARE(disconnected.size(), 1);
    QCOMPARE(socket->state(), QAbstractSocket::UnconnectedState);
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    socket->abort();
    QCOMPARE(disconnected.size(), 1);
}

void tst_WebSocket::peerDropsTcp()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QSignalSpy errors(socket.get(), &qws::WebSocket::errorOccurred);
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    client.abort();
    QTRY_COMPARE(disconnected.size(), 1);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).at(0).value<QAbstractSocket::SocketError>(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(socket->error(), QAbstractSocket::RemoteHostClosedError);
    QVERIFY(!socket->errorString().isEmpty());
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
}

void tst_WebSocket::bytesToWriteAndBytesWritten()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    qint64 written = 0;
    connect(socket.get(), &qws::WebSocket::bytesWritten, this, [&](qint64 n) { written += n; });
    QSignalSpy received(&client, &QWebSocket::binaryMessageReceived);
    const QByteArray big(8 * 1024 * 1024, 'z');
    QCOMPARE(socket->sendBinaryMessage(big), qint64(big.size()));
    // Nothing here reads the client's socket yet, so the kernel cannot have taken 8 MiB.
    QVERIFY(socket->bytesToWrite() > 0);
    QVERIFY(socket->bytesToWrite() <= big.size() + 14);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), 1, 10000);
    QCOMPARE(received.at(0).at(0).toByteArray(), big);
    QTRY_COMPARE(socket->bytesToWrite(), qint64(0));
    QTRY_VERIFY(written >= big.size());
}

void tst_WebSocket::pauseAndResumeReading()
{
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    QSignalSpy messages(socket.get(), &qws::WebSocket::textMessageReceived);
    client.sendTextMessage(QStringLiteral("before"));
    QTRY_COMPARE(messages.size(), 1);

    socket->pauseReading();   // holds for every read from now on
    QVERIFY(socket->isReadingPaused());
    for (int i = 0; i < 5; ++i)
        client.sendTextMessage(QStringLiteral("while paused %1").arg(i));
    QTRY_COMPARE(client.bytesToWrite(), qint64(0));   // on the wire, in the server's kernel buffer
    QTest::qWait(300);
    QCOMPARE(messages.size(), 1);
    QCOMPARE(socket->stats().messagesReceived, quint64(1));   // the engine did not read them either

    socket->resumeReading();
    QVERIFY(!socket->isReadingPaused());
    QTRY_COMPARE(messages.size(), 6);
    QCOMPARE(messages.at(5).at(0).toString(), QStringLiteral("while paused 4"));
}

void tst_WebSocket::messagesBeforeClaimAreKept()
{
    QSignalSpy newConnection(m_server.get(), &qws::WebSocketServer::newConnection);
    QWebSocket client;
    client.open(m_server->serverUrl());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    for (int i = 0; i < 3; ++i)
        client.sendTextMessage(QStringLiteral("early %1").arg(i));
    QSignalSpy pong(&client, &QWebSocket::pong);
    client.ping();
    QTRY_COMPARE(pong.size(), 1);   // the engine has read (and kept) the three messages
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> socket(m_server->nextPendingConnection());
    QSignalSpy messages(socket.get(), &qws::WebSocket::textMessageReceived);
    QTRY_COMPARE(messages.size(), 3);
    QCOMPARE(messages.at(0).at(0).toString(), QStringLiteral("early 0"));
    QCOMPARE(messages.at(2).at(0).toString(), QStringLiteral("early 2"));
}

void tst_WebSocket::moveToThreadDeliversThere()
{
    QWebSocket client;
    qws::WebSocket *socket = accept(client);
    QVERIFY(socket);
    QThread thread;
    thread.start();
    std::atomic<QThread *> seenOn{nullptr};
    connect(socket, &qws::WebSocket::textMessageReceived, socket, [&seenOn, socket](const QString &m) {
        seenOn = QThread::currentThread();
        socket->sendTextMessage(m + QStringLiteral(" (from the worker thread)"));
    });
    socket->moveToThread(&thread);
    QSignalSpy echo(&client, &QWebSocket::textMessageReceived);
    client.sendTextMessage(QStringLiteral("hi"));
    QTRY_COMPARE(echo.size(), 1);
    QCOMPARE(echo.at(0).at(0).toString(), QStringLiteral("hi (from the worker thread)"));
    QCOMPARE(seenOn.load(), &thread);
    // Deleted on its own thread: deleteLater() runs in that thread's event loop before quit() ends it
    // (posted first), and wait() orders the deletion before this test returns.
    std::atomic<bool> destroyed{false};
    connect(socket, &QObject::destroyed, this, [&destroyed] { destroyed = true; }, Qt::DirectConnection);
    socket->deleteLater();
    thread.quit();
    QVERIFY(thread.wait(10000));
    QVERIFY(destroyed.load());
}

void tst_WebSocket::statsCount()
{
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    QSignalSpy received(socket.get(), &qws::WebSocket::binaryMessageReceived);
    QSignalSpy echoed(&client, &QWebSocket::textMessageReceived);
    client.sendBinaryMessage(QByteArray(100, 'a'));
    client.sendBinaryMessage(QByteArray(200, 'b'));
    QTRY_COMPARE(received.size(), 2);
    socket->sendTextMessage(QStringLiteral("12345"));
    QTRY_COMPARE(echoed.size(), 1);
    const qws::ConnectionStats stats = socket->stats();
    QCOMPARE(stats.messagesReceived, quint64(2));
    QCOMPARE(stats.bytesReceived, quint64(300));
    QCOMPARE(stats.messagesSent, quint64(1));
    QCOMPARE(stats.bytesSent, quint64(5));
    QVERIFY(stats.connectedAtMs >= before && stats.connectedAtMs <= after);
    QCOMPARE(stats.inboundQueued, qint64(0));
    QCOMPARE(stats.readPauses, quint64(0));
}

void tst_WebSocket::protocolErrorClosesWith1002()
{
    QSignalSpy newConnection(m_server.get(), &qws::WebSocketServer::newConnection);
    RawClient raw;
    QVERIFY(raw.connectTo(m_server->serverPort()));
    QVERIFY(raw.send(upgradeRequest()));
    QVERIFY(raw.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> socket(m_server->nextPendingConnection());
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    QVERIFY(raw.send(QByteArray("\x81\x02hi", 4)));   // RFC 6455 §5.1: an unmasked client frame
    QVERIFY(raw.waitForClose());
    const QByteArray reply = raw.buffer().mid(raw.buffer().indexOf("\r\n\r\n") + 4);
    QVERIFY(reply.size() >= 4);
    QCOMPARE(quint8(reply[0]), quint8(0x88));                            // FIN + close
    QCOMPARE((quint8(reply[2]) << 8) | quint8(reply[3]), 1002);          // protocol error
    QTRY_COMPARE(disconnected.size(), 1);
    QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodeProtocolError);
}

void tst_WebSocket::deletingTheSocketSendsGoingAway()
{
    QWebSocket client;
    qws::WebSocket *socket = accept(client);
    QVERIFY(socket);
    delete socket;
    QTRY_COMPARE(client.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(client.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
}

// A batch that takes long to handle is delivered in slices: the owner's event loop (here a timer)
// runs between them, the messages keep their order and disconnected() still comes after the last.
void tst_WebSocket::bigBatchIsDeliveredInSlices()
{
    constexpr int kCount = 300;
    QSignalSpy newConnection(m_server.get(), &qws::WebSocketServer::newConnection);
    QWebSocket client;
    client.open(m_server->serverUrl());
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    for (int i = 0; i < kCount; ++i)
        client.sendTextMessage(QStringLiteral("m%1").arg(i));
    QSignalSpy pong(&client, &QWebSocket::pong);
    client.ping();
    QTRY_COMPARE(pong.size(), 1);   // the engine has read them all: one inbox, kept until the claim
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> socket(m_server->nextPendingConnection());
    QVERIFY(socket);
    QCOMPARE(socket->stats().inboundQueued, qint64(kCount * 2 + (kCount - 10) + (kCount - 100)));

    QStringList received;
    int ticksDuringDelivery = 0;
    bool disconnectedAfterLast = false;
    QElapsedTimer sinceLast;
    qint64 longestGapMs = 0;
    connect(socket.get(), &qws::WebSocket::textMessageReceived, this, [&](const QString &message) {
        if (sinceLast.isValid())
            longestGapMs = std::max(longestGapMs, sinceLast.elapsed());
        sinceLast.start();
        received.append(message);
        QElapsedTimer busy;   // a slow handler: 1 ms a message, ~0.3 s for the batch
        busy.start();
        while (busy.elapsed() < 1) {
        }
    });
    connect(socket.get(), &qws::WebSocket::disconnected, this,
            [&] { disconnectedAfterLast = received.size() == kCount; });
    QTimer tick;
    tick.setInterval(1);
    connect(&tick, &QTimer::timeout, this, [&] {
        if (!received.isEmpty() && received.size() < kCount)
            ++ticksDuringDelivery;
    });
    tick.start();
    client.close();
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), kCount, 20000);
    QTRY_VERIFY(disconnectedAfterLast);
    for (int i = 0; i < kCount; ++i)
        QCOMPARE(received.at(i), QStringLiteral("m%1").arg(i));
    QVERIFY2(ticksDuringDelivery >= 1, "the batch was delivered without returning to the event loop");
    // Each pass of the event loop starts a new budget (the dispatcher's awake()): a spent budget holds
    // delivery back only until the next pass (a few ms here), never until the 250 ms stale-pass rescue.
    QVERIFY2(longestGapMs < 150, qPrintable(QStringLiteral("delivery stalled for %1 ms").arg(longestGapMs)));
    QCOMPARE(socket->stats().inboundQueued, qint64(0));
}

// Large binary messages are handed out as QByteArrays that share the engine's read block (ReadBlocks):
// an application that keeps many of them must get each intact and '\0'-terminated, and once the blocks
// are all held (ReadBlocks::kBlocks of kBlockSize per engine thread) later messages are copied instead
// of pinning more memory. (Which messages share a block depends on where the reads split the stream.)
void tst_WebSocket::keptBinaryMessagesStayIntact()
{
    constexpr int kCount = 600;   // 16 KiB each: 9.4 MiB, more than the blocks can hold
    constexpr qsizetype kSize = 16 * 1024;
    const auto expected = [](int i) { return patterned(i, kSize); };
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    std::vector<QByteArray> kept;
    connect(socket.get(), &qws::WebSocket::binaryMessageReceived, this,
            [&](const QByteArray &message) { kept.push_back(message); });
    for (int i = 0; i < kCount; ++i)
        client.sendBinaryMessage(expected(i));
    QTRY_COMPARE_WITH_TIMEOUT(int(kept.size()), kCount, 20000);
    int sharing = 0;
    std::set<const void *> blocks;   // the allocations the sharing messages live in
    for (int i = 0; i < kCount; ++i) {
        QByteArray &message = kept[std::size_t(i)];
        QVERIFY2(message == expected(i), qPrintable(QStringLiteral("message %1").arg(i)));
        QCOMPARE(message.constData()[message.size()], '\0');
        // A message sharing a read block sees the rest of the block as room to grow in.
        if (message.capacity() > message.size()) {
            ++sharing;
            blocks.insert(message.data_ptr().d_ptr());
        }
    }
    QVERIFY(sharing > 0);   // not copied at all
    // The bound: no more blocks than one engine thread has, and the rest of the 9.4 MiB copied.
    QVERIFY2(blocks.size() <= qws::ReadBlocks::kBlocks, qPrintable(QString::number(blocks.size())));
    QVERIFY(qsizetype(sharing) * kSize <= qsizetype(qws::ReadBlocks::kBlocks * qws::ReadBlocks::kBlockSize));
    QVERIFY(sharing < kCount);
    // The messages outlive the server and its engine threads (they share the blocks, not borrow them).
    socket.reset();
    m_server.reset();
    QCOMPARE(kept.front(), expected(0));
    QCOMPARE(kept.back(), expected(kCount - 1));
}

// The usual case: the application keeps each message a while (here the last 50) and drops it. The
// blocks are read into again once their messages are gone, while later messages of them still live:
// each message must still be intact when dropped, and messages long past the first 6 MiB still share
// a block (without reuse every one after that would be a copy). The client sends in rounds of 50, so
// the messages alive at once (kept, or waiting for the owner) stay well below the blocks' 6 MiB.
void tst_WebSocket::readBlocksAreReusedWhileMessagesLive()
{
    constexpr int kCount = 2000;   // 16 KiB each: 31 MiB through 6 MiB of blocks
    constexpr qsizetype kSize = 16 * 1024;
    constexpr std::size_t kWindow = 50;
    const auto expected = [](int i) { return patterned(i, kSize); };
    QWebSocket client;
    std::unique_ptr<qws::WebSocket> socket(accept(client));
    QVERIFY(socket);
    std::deque<std::pair<int, QByteArray>> live;
    int received = 0;
    int corrupted = -1;
    int sharingLate = 0;
    connect(socket.get(), &qws::WebSocket::binaryMessageReceived, this, [&](const QByteArray &message) {
        const int index = received++;
        if (message != expected(index) && corrupted < 0)
            corrupted = index;
        if (index >= kCount / 2 && message.capacity() > message.size())
            ++sharingLate;
        live.emplace_back(index, message);
        if (live.size() > kWindow) {
            if (live.front().second != expected(live.front().first) && corrupted < 0)
                corrupted = live.front().first;   // overwritten while it was still alive
            live.pop_front();
        }
    });
    for (int sent = 0; sent < kCount;) {
        for (const int end = sent + int(kWindow); sent < end; ++sent)
            client.sendBinaryMessage(expected(sent));
        QTRY_COMPARE_WITH_TIMEOUT(received, sent, 10000);
    }
    QCOMPARE(corrupted, -1);
    for (const auto &[index, message] : live)
        QCOMPARE(message, expected(index));
    QVERIFY2(sharingLate > 0, "no message after the first 6 MiB shared a read block");
}

QTEST_GUILESS_MAIN(tst_WebSocket)
#include "tst_websocket.moc"
