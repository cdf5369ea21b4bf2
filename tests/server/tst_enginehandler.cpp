// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServer::setEngineMessageHandler(): messages taken and answered on the engine threads, with no
// hand-off to the server's thread. Real clients over loopback: Qt's QWebSocket, raw sockets (frames
// checked bit for bit) and python3-websockets with permessage-deflate.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

using namespace testsupport;

class tst_EngineHandler : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void takenMessagesNeverReachTheSignals();
    void declinedMessagesAreDeliveredInOrder();
    void largeBinaryIsSharedNotCopied();
    void invalidTextReplyIsRefused();
    void repliesAreCompressedWhenNegotiated();
    void compressedEchoThroughPython();
    void outboundBoundRefusesReplies_data();
    void outboundBoundRefusesReplies();
    void handlerAppliesToLaterConnections();
    void repliesRefusedOnceClosing();
    void keptPayloadsStayIntact();
    void manyClientsOnSeveralThreads();
};

namespace {

constexpr qint64 kMiB = 1024 * 1024;

/// What the handler saw, written from engine threads, read by the test's thread. (Each test declares
/// what its handler uses before its server: the server stops the engine threads before that goes.)
struct Seen {
    std::mutex mutex;
    std::vector<QByteArray> payloads;
    std::vector<quint64> ids;
    std::atomic<bool> onServerThread{false};
    void add(const qws::EngineMessage &message)
    {
        std::lock_guard lock(mutex);
        payloads.push_back(message.payload().toByteArray());
        ids.push_back(message.connectionId());
    }
    std::size_t count()
    {
        std::lock_guard lock(mutex);
        return payloads.size();
    }
    quint64 firstId()
    {
        std::lock_guard lock(mutex);
        return ids.empty() ? 0 : ids.front();
    }
};

std::unique_ptr<QWebSocket> connectClient(const qws::WebSocketServer &server)
{
    auto client = std::make_unique<QWebSocket>();
    client->open(server.serverUrl());
    if (!QTest::qWaitFor([&] { return client->state() == QAbstractSocket::ConnectedState; }, 5000))
        return nullptr;
    return client;
}

/// Every text message `client` receives, in order, appended to `into`.
void collectTexts(QWebSocket &client, QStringList &into)
{
    QObject::connect(&client, &QWebSocket::textMessageReceived, &client, [&into](const QString &m) { into << m; });
}

/// A new client sends `text` and returns the first text it gets back (empty after 5 s), and the state
/// it is in a moment later (a client that got invalid UTF-8 would be closing).
QString firstReply(const qws::WebSocketServer &server, const QString &text,
                   QAbstractSocket::SocketState *stateAfter = nullptr)
{
    std::unique_ptr<QWebSocket> client = connectClient(server);
    if (!client)
        return {};
    QStringList replies;
    collectTexts(*client, replies);
    client->sendTextMessage(text);
    QTest::qWaitFor([&] { return !replies.isEmpty(); }, 5000);
    QTest::qWait(20);
    if (stateAfter)
        *stateAfter = client->state();
    return replies.value(0);
}

} // namespace

void tst_EngineHandler::takenMessagesNeverReachTheSignals()
{
    QThread *const serverThread = QThread::currentThread();
    Seen seen;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        if (QThread::currentThread() == serverThread)
            seen.onServerThread = true;
        seen.add(message);
        const QByteArray reply = "re:" + message.payload().toByteArray();
        return message.isText() ? message.sendText(reply) : message.sendBinary(reply);
    });
    QVERIFY(server.hasEngineMessageHandler());
    QSignalSpy text(&server, &qws::WebSocketServer::textMessageReceived);
    QSignalSpy binary(&server, &qws::WebSocketServer::binaryMessageReceived);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::unique_ptr<QWebSocket> client = connectClient(server);
    QVERIFY(client);
    QTRY_VERIFY(server.hasPendingConnections());
    std::unique_ptr<qws::WebSocket> socket(server.nextPendingConnection());
    QSignalSpy socketText(socket.get(), &qws::WebSocket::textMessageReceived);
    QSignalSpy socketBinary(socket.get(), &qws::WebSocket::binaryMessageReceived);
    QStringList texts;
    QList<QByteArray> binaries;
    collectTexts(*client, texts);
    connect(client.get(), &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &m) { binaries << m; });

    constexpr int kCount = 50;
    for (int i = 0; i < kCount; ++i) {
        client->sendTextMessage(QStringLiteral("t%1 é").arg(i));
        client->sendBinaryMessage(QByteArray("b") + QByteArray::number(i));
    }
    QTRY_COMPARE(texts.size(), kCount);
    QTRY_COMPARE(binaries.size(), kCount);
    for (int i = 0; i < kCount; ++i) {   // in order, each answered by the handler
        QCOMPARE(texts.at(i), QStringLiteral("re:t%1 é").arg(i));
        QCOMPARE(binaries.at(i), QByteArray("re:b") + QByteArray::number(i));
    }
    QVERIFY(!seen.onServerThread);
    QTest::qWait(50);   // a round that would carry them to the owner has long arrived
    QCOMPARE(text.size() + binary.size() + socketText.size() + socketBinary.size(), 0);
    // Counted like any other message; the id is the WebSocket's.
    QCOMPARE(seen.firstId(), socket->id());
    QTRY_COMPARE(socket->stats().messagesSent, quint64(2 * kCount));
    const qws::ConnectionStats stats = socket->stats();
    QCOMPARE(stats.messagesReceived, quint64(2 * kCount));
    QCOMPARE(stats.bytesSent, stats.bytesReceived + quint64(2 * kCount * 3));   // "re:" each
    QTRY_COMPARE(socket->stats().outboundQueued, qint64(0));
}

void tst_EngineHandler::declinedMessagesAreDeliveredInOrder()
{
    Seen seen;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        seen.add(message);
        if (!message.payload().startsWith("engine:"))
            return false;   // for the owner
        return message.sendText(message.payload());
    });
    QStringList owner;
    connect(&server, &qws::WebSocketServer::textMessageReceived, this,
            [&](qws::WebSocket *socket, const QString &m) {
                owner << m;
                socket->sendTextMessage(m);
            });
    std::vector<std::unique_ptr<qws::WebSocket>> taken;   // the test owns what it takes
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        while (qws::WebSocket *socket = server.nextPendingConnection())
            taken.emplace_back(socket);
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::unique_ptr<QWebSocket> client = connectClient(server);
    QVERIFY(client);
    QStringList echoed;
    collectTexts(*client, echoed);
    QStringList sent, forOwner;
    for (int i = 0; i < 60; ++i) {
        const QString message = (i % 3 ? QStringLiteral("owner:%1") : QStringLiteral("engine:%1")).arg(i);
        sent << message;
        if (i % 3)
            forOwner << message;
        client->sendTextMessage(message);
    }
    QTRY_COMPARE(echoed.size(), sent.size());
    QCOMPARE(owner, forOwner);   // exactly the declined ones, in their order
    QCOMPARE(seen.count(), std::size_t(sent.size()));   // the handler saw every message first
    QStringList sortedEchoed = echoed, sortedSent = sent;
    sortedEchoed.sort();
    sortedSent.sort();
    QCOMPARE(sortedEchoed, sortedSent);
    // Each path keeps its own order: the handler's replies, and the owner's echoes.
    QStringList engineOrder, ownerOrder;
    for (const QString &message : std::as_const(echoed))
        (message.startsWith(QLatin1String("engine:")) ? engineOrder : ownerOrder) << message;
    QStringList engineSent = sent;
    engineSent.removeIf([](const QString &m) { return !m.startsWith(QLatin1String("engine:")); });
    QCOMPARE(engineOrder, engineSent);
    QCOMPARE(ownerOrder, forOwner);
}

void tst_EngineHandler::largeBinaryIsSharedNotCopied()
{
    std::atomic<int> shared{0}, copied{0};
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        const QByteArray bytes = message.toByteArray();
        (bytes.constData() == message.payload().data() ? shared : copied)++;
        return message.sendBinary(bytes);
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::unique_ptr<QWebSocket> client = connectClient(server);
    QVERIFY(client);
    client->setOutgoingFrameSize(8 * kMiB);   // one frame per message (Qt cuts at 512 KiB by default)
    QList<QByteArray> echoed;
    connect(client.get(), &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &m) { echoed << m; });
    QList<QByteArray> sent;
    for (int size : {100, 4095, 16 * 1024, 300 * 1024, int(4 * kMiB)}) {
        QByteArray payload(size, Qt::Uninitialized);
        for (int i = 0; i < size; ++i)
            payload[i] = char((i * 131 + size) & 0xff);
        sent << payload;
        client->sendBinaryMessage(payload);
    }
    QTRY_COMPARE_WITH_TIMEOUT(echoed.size(), sent.size(), 10000);
    for (int i = 0; i < sent.size(); ++i)
        QVERIFY2(echoed.at(i) == sent.at(i), qPrintable(QString::number(sent.at(i).size())));
    // One-frame binary messages of 4 KiB and more are the engine's own QByteArrays (read in place, or
    // straight into their storage): handed on without a copy. The two small ones are copied.
    QCOMPARE(shared.load(), 3);
    QCOMPARE(copied.load(), 2);
    // A message in several frames is assembled by the core, and copied.
    client->setOutgoingFrameSize(64 * 1024);
    client->sendBinaryMessage(sent.back());
    QTRY_COMPARE_WITH_TIMEOUT(echoed.size(), sent.size() + 1, 10000);
    QVERIFY(echoed.back() == sent.back());
    QCOMPARE(copied.load(), 3);
}

void tst_EngineHandler::invalidTextReplyIsRefused()
{
    std::atomic<int> invalidAccepted{0}, validAccepted{0};
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        if (message.sendText(QByteArrayView("bad \xff\xfe", 6)))   // not UTF-8
            ++invalidAccepted;
        if (message.sendText(QByteArrayView("half \xc3", 6)))      // a code point cut short
            ++invalidAccepted;
        if (message.sendText(message.text().toUtf8() + " ok"))
            ++validAccepted;
        return true;
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QAbstractSocket::SocketState after = QAbstractSocket::UnconnectedState;
    QCOMPARE(firstReply(server, QStringLiteral("ü"), &after), QStringLiteral("ü ok"));
    QCOMPARE(invalidAccepted.load(), 0);
    QCOMPARE(validAccepted.load(), 1);
    QCOMPARE(after, QAbstractSocket::ConnectedState);   // nothing invalid reached the wire
}

void tst_EngineHandler::repliesAreCompressedWhenNegotiated()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([](qws::EngineMessage &message) { return message.sendText(message.payload()); });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    std::unique_ptr<qws::WebSocket> socket(
            acceptRaw(server, raw, 0, "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    QVERIFY(socket);
    QVERIFY(raw.buffer().contains("permessage-deflate"));
    raw.clear();
    const QByteArray text(2000, 'a');   // compresses well, above the default minimum size
    QVERIFY(raw.send(clientFrame(0x1, text)));
    QVERIFY(QTest::qWaitFor([&] { return raw.readUntil("\x01\x02\x03", 20).size() >= 2; }, 5000));
    const QByteArray frame = raw.buffer();
    QCOMPARE(quint8(frame.at(0)), quint8(0xC1));   // FIN, RSV1 (compressed), text
    QVERIFY2((quint8(frame.at(1)) & 0x7f) < 126, "a 2,000-byte run of 'a' deflates to a few bytes");
    QTRY_COMPARE(socket->stats().messagesSent, quint64(1));
    QCOMPARE(socket->stats().bytesSent, quint64(text.size()));   // payload before compression
}

void tst_EngineHandler::compressedEchoThroughPython()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([](qws::EngineMessage &message) {
        return message.isText() ? message.sendText(message.payload()) : message.sendBinary(message.toByteArray());
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QProcess client;
    startClient(client, QStringLiteral("echo_client.py"),
                {server.serverUrl().toString(), QStringLiteral("20"), QStringLiteral("5000"), QStringLiteral("deflate")});
    QVERIFY(client.waitForFinished(30000));
    const QByteArray out = client.readAllStandardOutput();
    QVERIFY2(client.exitCode() == 0, client.readAllStandardError().constData());
    QVERIFY2(out.contains("permessage-deflate") && out.contains("\"echoed\": 40"), out.constData());
}

void tst_EngineHandler::outboundBoundRefusesReplies_data()
{
    QTest::addColumn<bool>("closeConnection");
    QTest::newRow("RejectSends") << false;
    QTest::newRow("CloseConnection") << true;
}

void tst_EngineHandler::outboundBoundRefusesReplies()
{
    QFETCH(bool, closeConnection);
    const QByteArray big(256 * 1024, 'x');
    std::atomic<int> accepted{0}, refused{0};
    std::atomic<qint64> mostQueued{0};
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setMaxOutboundQueue(kMiB, closeConnection ? qws::OutboundPolicy::CloseConnection
                                                     : qws::OutboundPolicy::RejectSends);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        if (message.sendBinary(big))
            ++accepted;
        else
            ++refused;
        mostQueued = std::max(mostQueued.load(), message.outboundQueued());
        return true;
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;   // sends, never reads: the replies pile up
    std::unique_ptr<qws::WebSocket> socket(acceptRaw(server, raw, 4096));
    QVERIFY(socket);
    QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
    QSignalSpy full(socket.get(), &qws::WebSocket::outboundQueueFull);
    constexpr int kMessages = 200;   // 50 MiB of replies: far past the kernel's buffers and the bound
    for (int i = 0; i < kMessages; ++i)
        QVERIFY(raw.send(clientFrame(0x2, QByteArray::number(i))));
    QTRY_COMPARE_WITH_TIMEOUT(accepted.load() + refused.load(), kMessages, 10000);
    QVERIFY(refused.load() >= 1);
    QVERIFY(accepted.load() >= 1);
    QVERIFY2(mostQueued.load() <= kMiB + big.size() + 14, qPrintable(QString::number(mostQueued.load())));
    QTRY_COMPARE(full.size(), 1);   // told once, as for the owner's sends
    if (closeConnection) {
        // The first refusal begins the closing handshake with 1008 and drops what was not started;
        // every later reply is refused (the connection is closing), and the WebSocket says why.
        QTRY_COMPARE(socket->state(), QAbstractSocket::ClosingState);
        QCOMPARE(socket->closeCode(), qws::WebSocketProtocol::CloseCodePolicyViolated);
        QCOMPARE(socket->closeReason(), QStringLiteral("outbound queue full"));
        QTRY_VERIFY(socket->stats().outboundQueued <= 256 * 1024 + 14 + 64);   // at most the frame on the wire
        raw.close();
        QTRY_COMPARE(disconnected.size(), 1);
    } else {
        // RejectSends keeps the connection; once the client reads, everything accepted goes out.
        QTest::qWait(100);
        QCOMPARE(socket->state(), QAbstractSocket::ConnectedState);
        QVERIFY(disconnected.isEmpty());
        QVERIFY(QTest::qWaitFor([&] {
            raw.readUntil("\x01\x02\x03\x04", 10);
            raw.clear();
            return socket->stats().outboundQueued == 0;
        }, 20000));
        QCOMPARE(socket->stats().messagesSent, quint64(accepted.load()));
    }
}

void tst_EngineHandler::handlerAppliesToLaterConnections()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::unique_ptr<QWebSocket> before = connectClient(server);
    QVERIFY(before);
    QTRY_COMPARE(server.connectionCount(), 1);
    server.setEngineMessageHandler([](qws::EngineMessage &message) {
        return message.sendText("engine:" + message.payload().toByteArray());
    });
    std::unique_ptr<QWebSocket> after = connectClient(server);
    QVERIFY(after);
    QStringList fromBefore, fromAfter;
    collectTexts(*before, fromBefore);
    collectTexts(*after, fromAfter);
    before->sendTextMessage(QStringLiteral("one"));
    after->sendTextMessage(QStringLiteral("two"));
    QTRY_COMPARE(fromBefore, QStringList{QStringLiteral("one")});               // the owner's echo
    QTRY_COMPARE(fromAfter, QStringList{QStringLiteral("engine:two")});        // the handler's
    server.setEngineMessageHandler({});
    QVERIFY(!server.hasEngineMessageHandler());
    QCOMPARE(firstReply(server, QStringLiteral("three")), QStringLiteral("three"));   // the owner's again
}

void tst_EngineHandler::manyClientsOnSeveralThreads()
{
    std::atomic<quint64> handled{0};
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(3);
    server.setMaxPendingConnections(100);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        ++handled;
        return message.sendText(message.payload());
    });
    std::vector<std::unique_ptr<qws::WebSocket>> taken;   // the test owns what it takes
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        while (qws::WebSocket *socket = server.nextPendingConnection())
            taken.emplace_back(socket);
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    constexpr int kClients = 24, kEach = 200;
    std::vector<std::unique_ptr<QWebSocket>> clients;
    std::vector<QStringList> echoed(kClients);
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(std::make_unique<QWebSocket>());
        connect(clients.back().get(), &QWebSocket::textMessageReceived, this,
                [&echoed, c](const QString &m) { echoed[std::size_t(c)] << m; });
        connect(clients.back().get(), &QWebSocket::connected, this, [&clients, c] {
            for (int i = 0; i < kEach; ++i)
                clients[std::size_t(c)]->sendTextMessage(QStringLiteral("%1/%2").arg(c).arg(i));
        });
        clients.back()->open(server.serverUrl());
    }
    QTRY_COMPARE_WITH_TIMEOUT(handled.load(), quint64(kClients * kEach), 20000);
    for (int c = 0; c < kClients; ++c) {
        QTRY_COMPARE(echoed[std::size_t(c)].size(), kEach);
        for (int i = 0; i < kEach; ++i)
            QCOMPARE(echoed[std::size_t(c)].at(i), QStringLiteral("%1/%2").arg(c).arg(i));
    }
}

void tst_EngineHandler::repliesRefusedOnceClosing()
{
    std::atomic<int> offered{0}, replied{0};
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        ++offered;
        if (message.sendText("reply"))
            ++replied;
        return true;
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient raw;
    std::unique_ptr<qws::WebSocket> socket(acceptRaw(server, raw));
    QVERIFY(socket);
    raw.clear();
    QVERIFY(raw.send(clientFrame(0x1, "before")));
    QVERIFY(raw.readUntil("reply").contains("reply"));
    QCOMPARE(replied.load(), 1);
    raw.clear();
    socket->close(qws::WebSocketProtocol::CloseCodeGoingAway);   // the owner closes; the peer has not answered
    QVERIFY(raw.readUntil("\x03\xe9").startsWith("\x88"));     // our close frame, 1001
    QVERIFY(raw.send(clientFrame(0x1, "after")));               // the peer still sends before its close
    QTRY_COMPARE(offered.load(), 2);
    QCOMPARE(replied.load(), 1);   // no data frame after our close frame
    QVERIFY(raw.send(clientFrame(0x8, QByteArray("\x03\xe9", 2))));
    QVERIFY(raw.waitForClose());
    QCOMPARE(raw.buffer().indexOf("reply"), -1);
}

void tst_EngineHandler::keptPayloadsStayIntact()
{
    std::mutex mutex;
    QList<QByteArray> kept;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    server.setEngineMessageHandler([&](qws::EngineMessage &message) {
        if (message.payload().startsWith("keep")) {
            std::lock_guard lock(mutex);
            kept << message.toByteArray();   // shares the engine's read block
        }
        return message.sendText("ok");
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::unique_ptr<QWebSocket> client = connectClient(server);
    QVERIFY(client);
    int oks = 0;
    connect(client.get(), &QWebSocket::textMessageReceived, this, [&](const QString &) { ++oks; });
    auto patterned = [](const QByteArray &prefix, int n, int size) {
        QByteArray payload = prefix + QByteArray::number(n) + ':';
        while (payload.size() < size)
            payload += char('a' + (payload.size() * 7 + n) % 26);
        return payload;
    };
    QList<QByteArray> sentKept;
    for (int i = 0; i < 40; ++i) {
        sentKept << patterned("keep", i, 16 * 1024);
        client->sendBinaryMessage(sentKept.back());
    }
    for (int i = 0; i < 400; ++i)   // ~6 MiB more through the same thread's read blocks
        client->sendBinaryMessage(patterned("pass", i, 16 * 1024));
    QTRY_COMPARE_WITH_TIMEOUT(oks, 440, 20000);
    std::lock_guard lock(mutex);
    QCOMPARE(kept.size(), sentKept.size());
    for (int i = 0; i < kept.size(); ++i)
        QVERIFY2(kept.at(i) == sentKept.at(i), qPrintable(QString::number(i)));
}

QTEST_GUILESS_MAIN(tst_EngineHandler)
#include "tst_enginehandler.moc"
