// SPDX-License-Identifier: BSD-3-Clause
// Engine → owner delivery in rounds: the batches of one engine loop iteration, for sockets living on the
// server's thread, reach that thread in ONE event posted to the server (no event per socket), and nothing
// is lost when a socket moves to another thread, is deleted by another socket's slot, or the server is
// deleted in the middle of a round; and the server-level message signals that ride on the same delivery
// (one connection for every socket). Real QWebSocket clients over loopback.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <atomic>
#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <sys/socket.h>

using namespace testsupport;

namespace {

/// Counts the events of user-registered types (the engine's own: batches, rounds, flushes) each watched
/// object receives.
class UserEventCounter : public QObject
{
public:
    std::map<QObject *, int> counts;
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() >= QEvent::User)
            ++counts[watched];
        return false;
    }
};

struct Rig {
    std::unique_ptr<qws::WebSocketServer> server;
    std::vector<std::unique_ptr<QWebSocket>> clients;
    std::vector<qws::WebSocket *> sockets;   // owned by the test (deleted at the end)

    ~Rig()
    {
        for (qws::WebSocket *socket : sockets)
            delete socket;
    }

    bool open(int count)
    {
        server = std::make_unique<qws::WebSocketServer>(QStringLiteral("rounds"), qws::WebSocketServer::NonSecureMode);
        server->setWorkerThreadCount(1);
        server->setMaxPendingConnections(count + 10);   // the default 30 would refuse some of 40 at once
        if (!server->listen(QHostAddress::LocalHost))
            return false;
        for (int i = 0; i < count; ++i) {
            clients.push_back(std::make_unique<QWebSocket>());
            clients.back()->open(server->serverUrl());
        }
        const bool ok = QTest::qWaitFor([&] {
            while (qws::WebSocket *socket = server->nextPendingConnection())
                sockets.push_back(socket);
            return int(sockets.size()) == count;
        }, 10000);
        const bool connected = ok && QTest::qWaitFor([&] {
            for (const auto &client : clients) {
                if (client->state() != QAbstractSocket::ConnectedState)
                    return false;
            }
            return true;
        }, 10000);
        return connected && pairWithClients();
    }

    /// Puts sockets[i] opposite clients[i]. Handshakes of clients opened together complete in any order,
    /// so the pending connections' order is not the clients' order: pair them by port.
    bool pairWithClients()
    {
        std::vector<qws::WebSocket *> paired(clients.size(), nullptr);
        for (qws::WebSocket *socket : sockets) {
            const auto client = std::find_if(clients.begin(), clients.end(), [socket](const auto &c) {
                return c->localPort() == socket->peerPort();
            });
            if (client == clients.end() || paired[std::size_t(client - clients.begin())])
                return false;
            paired[std::size_t(client - clients.begin())] = socket;
        }
        sockets = std::move(paired);
        return true;
    }

    /// Deletes the first socket on `thread` (it was moved there): deleteLater() runs in that thread's loop
    /// before quit() ends it (as in tst_websocket::moveToThreadDeliversThere), and wait() orders the
    /// deletion before the Rig's cleanup.
    bool deleteMovedFirst(QThread &thread)
    {
        qws::WebSocket *moved = std::exchange(sockets[0], nullptr);
        moved->deleteLater();
        thread.quit();
        return thread.wait(10000);
    }

    /// Every client sends `perClient` messages, flushed to the kernel before the event loop runs again.
    void sendAll(int perClient)
    {
        for (int m = 0; m < perClient; ++m) {
            for (std::size_t i = 0; i < clients.size(); ++i)
                clients[i]->sendTextMessage(QStringLiteral("c%1m%2").arg(i).arg(m));
        }
        for (const auto &client : clients)
            client->flush();
    }
};

} // namespace

class tst_Rounds : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void socketsOnTheServerThreadGetNoEventOfTheirOwn();
    void movedSocketGetsItsOwnEvents();
    void slotDeletingAnotherSocketOfTheRound();
    void serverDeletedInASlotOfTheRound();
    void serverLevelSignals();
    void serverLevelSignalsStopWhenTheSocketMoves();
    void messageAndEofInOneBurst();
    void keptMessagesAreNeverOverwritten();
};

void tst_Rounds::socketsOnTheServerThreadGetNoEventOfTheirOwn()
{
    Rig rig;
    QVERIFY(rig.open(40));
    UserEventCounter counter;
    std::vector<QStringList> received(rig.sockets.size());
    for (std::size_t i = 0; i < rig.sockets.size(); ++i) {
        rig.sockets[i]->installEventFilter(&counter);
        connect(rig.sockets[i], &qws::WebSocket::textMessageReceived, this,
                [&received, i](const QString &message) { received[i] << message; });
    }
    rig.server->installEventFilter(&counter);
    rig.sendAll(5);
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(received.begin(), received.end(),
                                         [](const QStringList &list) { return list.size() == 5; }), 10000);
    for (std::size_t i = 0; i < received.size(); ++i) {
        for (int m = 0; m < 5; ++m)
            QCOMPARE(received[i].at(m), QStringLiteral("c%1m%2").arg(i).arg(m));   // order per socket kept
    }
    // 200 messages on 40 sockets reached the owner through the server's round events alone: no socket
    // received an engine event of its own, and the server at most one per message (in practice a few).
    for (qws::WebSocket *socket : rig.sockets)
        QCOMPARE(counter.counts[socket], 0);
    QVERIFY(counter.counts[rig.server.get()] >= 1);
    QVERIFY2(counter.counts[rig.server.get()] <= 200, qPrintable(QString::number(counter.counts[rig.server.get()])));
}

void tst_Rounds::movedSocketGetsItsOwnEvents()
{
    Rig rig;
    QVERIFY(rig.open(2));
    QThread thread;
    thread.start();
    qws::WebSocket *moved = rig.sockets[0];
    std::atomic<int> onThread{0};
    connect(moved, &qws::WebSocket::textMessageReceived, moved, [&onThread, &thread](const QString &) {
        if (QThread::currentThread() == &thread)
            ++onThread;
    });
    int onMain = 0;
    connect(rig.sockets[1], &qws::WebSocket::textMessageReceived, this, [&onMain] { ++onMain; });
    moved->moveToThread(&thread);
    rig.sendAll(3);
    QTRY_COMPARE_WITH_TIMEOUT(onThread.load(), 3, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(onMain, 3, 10000);
    QVERIFY(rig.deleteMovedFirst(thread));
    // The socket that stayed is still delivered through the rounds.
    QSignalSpy again(rig.sockets[1], &qws::WebSocket::textMessageReceived);
    rig.clients[1]->sendTextMessage(QStringLiteral("still here"));
    QTRY_COMPARE_WITH_TIMEOUT(again.size(), 1, 10000);
    QCOMPARE(again.at(0).at(0).toString(), QStringLiteral("still here"));
}

void tst_Rounds::slotDeletingAnotherSocketOfTheRound()
{
    Rig rig;
    QVERIFY(rig.open(20));
    // The first socket to get a message deletes every other socket; those must get nothing afterwards
    // (their batches may be in the same round), and their clients see the 1001 of a deleted socket.
    int delivered = 0;
    int survivor = -1;
    for (std::size_t i = 0; i < rig.sockets.size(); ++i) {
        connect(rig.sockets[i], &qws::WebSocket::textMessageReceived, this, [&rig, &delivered, &survivor, i] {
            ++delivered;
            if (survivor >= 0)
                return;
            survivor = int(i);
            for (qws::WebSocket *&other : rig.sockets) {
                if (other != rig.sockets[i]) {
                    delete other;
                    other = nullptr;
                }
            }
        });
    }
    rig.sendAll(1);
    QTRY_VERIFY_WITH_TIMEOUT(survivor >= 0, 10000);
    for (std::size_t i = 0; i < rig.clients.size(); ++i) {
        if (int(i) == survivor)
            continue;
        QTRY_COMPARE_WITH_TIMEOUT(rig.clients[i]->state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(rig.clients[i]->closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    }
    QTest::qWait(100);   // a stale delivery into a deleted socket would crash or count here
    QCOMPARE(delivered, 1);
    QCOMPARE(std::count(rig.sockets.begin(), rig.sockets.end(), nullptr), 19);
    QCOMPARE(rig.clients[std::size_t(survivor)]->state(), QAbstractSocket::ConnectedState);
}

void tst_Rounds::serverDeletedInASlotOfTheRound()
{
    Rig rig;
    QVERIFY(rig.open(20));
    // The first message deletes the server. Every socket still gets the message its client sent (when
    // the engine had read it) and then disconnected(): nothing waits forever in a dropped round.
    int messages = 0;
    int disconnects = 0;
    for (qws::WebSocket *socket : rig.sockets) {
        connect(socket, &qws::WebSocket::textMessageReceived, this, [&] {
            ++messages;
            rig.server.reset();
        });
        connect(socket, &qws::WebSocket::disconnected, this, [&] { ++disconnects; });
    }
    rig.sendAll(1);
    QTRY_COMPARE_WITH_TIMEOUT(disconnects, 20, 10000);
    QVERIFY(!rig.server);
    QVERIFY(messages >= 1);
    for (qws::WebSocket *socket : rig.sockets)
        QCOMPARE(socket->state(), QAbstractSocket::UnconnectedState);
}

void tst_Rounds::serverLevelSignals()
{
    Rig rig;
    QVERIFY(rig.open(3));
    // After each socket's own signal, the server's: with the socket, in order; then socketDisconnected().
    QStringList order;
    for (std::size_t i = 0; i < rig.sockets.size(); ++i) {
        connect(rig.sockets[i], &qws::WebSocket::textMessageReceived, this,
                [&order, i](const QString &m) { order << QStringLiteral("own%1:%2").arg(i).arg(m); });
        connect(rig.sockets[i], &qws::WebSocket::disconnected, this,
                [&order, i] { order << QStringLiteral("own%1:disconnected").arg(i); });
    }
    auto index = [&rig](qws::WebSocket *socket) {
        return int(std::find(rig.sockets.begin(), rig.sockets.end(), socket) - rig.sockets.begin());
    };
    connect(rig.server.get(), &qws::WebSocketServer::textMessageReceived, this,
            [&](qws::WebSocket *socket, const QString &m) {
                order << QStringLiteral("server%1:%2").arg(index(socket)).arg(m);
                socket->sendTextMessage(m.toUpper());   // answering through the pointer works
            });
    QList<QPair<int, QByteArray>> binary;
    connect(rig.server.get(), &qws::WebSocketServer::binaryMessageReceived, this,
            [&](qws::WebSocket *socket, const QByteArray &m) { binary.append({index(socket), m}); });
    QList<int> gone;
    connect(rig.server.get(), &qws::WebSocketServer::socketDisconnected, this, [&](qws::WebSocket *socket) {
        order << QStringLiteral("server%1:disconnected").arg(index(socket));
        gone << index(socket);
    });
    QSignalSpy upper(rig.clients[1].get(), &QWebSocket::textMessageReceived);
    rig.clients[1]->sendTextMessage(QStringLiteral("hi"));
    rig.clients[2]->sendBinaryMessage(QByteArray("\x00\x01\x02", 3));
    QTRY_COMPARE_WITH_TIMEOUT(upper.size(), 1, 10000);
    QCOMPARE(upper.at(0).at(0).toString(), QStringLiteral("HI"));
    QTRY_COMPARE(binary.size(), 1);
    QCOMPARE(binary.at(0).first, 2);
    QCOMPARE(binary.at(0).second, QByteArray("\x00\x01\x02", 3));
    QCOMPARE(order, (QStringList{QStringLiteral("own1:hi"), QStringLiteral("server1:hi")}));
    order.clear();
    rig.clients[0]->close();
    QTRY_COMPARE_WITH_TIMEOUT(gone, QList<int>{0}, 10000);
    QCOMPARE(order, (QStringList{QStringLiteral("own0:disconnected"), QStringLiteral("server0:disconnected")}));
    // A socket deleted by the application says nothing more; the server going away silences the
    // server-level signals, the sockets keep their own.
    delete rig.sockets[1];
    rig.sockets[1] = nullptr;
    QTest::qWait(50);
    QCOMPARE(gone, QList<int>{0});
    QSignalSpy own(rig.sockets[2], &qws::WebSocket::disconnected);
    rig.server.reset();
    QTRY_COMPARE_WITH_TIMEOUT(own.size(), 1, 10000);
    QCOMPARE(gone, QList<int>{0});
}

void tst_Rounds::serverLevelSignalsStopWhenTheSocketMoves()
{
    Rig rig;
    QVERIFY(rig.open(2));
    QThread thread;
    thread.start();
    qws::WebSocket *moved = rig.sockets[0];
    std::atomic<int> ownOnThread{0};
    connect(moved, &qws::WebSocket::textMessageReceived, moved, [&ownOnThread] { ++ownOnThread; });
    QList<qws::WebSocket *> serverSaw;
    connect(rig.server.get(), &qws::WebSocketServer::textMessageReceived, this,
            [&serverSaw](qws::WebSocket *socket, const QString &) { serverSaw << socket; });
    moved->moveToThread(&thread);
    rig.clients[0]->sendTextMessage(QStringLiteral("to the moved one"));
    rig.clients[1]->sendTextMessage(QStringLiteral("to the one at home"));
    QTRY_COMPARE_WITH_TIMEOUT(ownOnThread.load(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(serverSaw.size(), 1, 10000);
    QCOMPARE(serverSaw.at(0), rig.sockets[1]);   // the moved socket emitted only its own signal
    QVERIFY(rig.deleteMovedFirst(thread));
    QCOMPARE(serverSaw.size(), 1);
}

void tst_Rounds::messageAndEofInOneBurst()
{
    // One read per burst stops after a short read, except once the peer hung up: a message followed at
    // once by the client's FIN must still end in disconnected(), not wait for an edge that never comes.
    qws::WebSocketServer server(QStringLiteral("eof"), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    for (int round = 0; round < 20; ++round) {
        RawClient raw;
        QVERIFY(raw.connectTo(server.serverPort()));
        QVERIFY(raw.send(upgradeRequest()));
        QVERIFY(raw.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
        QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 10000);
        std::unique_ptr<qws::WebSocket> socket(server.nextPendingConnection());
        QSignalSpy message(socket.get(), &qws::WebSocket::textMessageReceived);
        QSignalSpy disconnected(socket.get(), &qws::WebSocket::disconnected);
        QVERIFY(raw.send(clientFrame(0x1, "last words")));
        ::shutdown(raw.fd(), SHUT_WR);
        QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 10000);
        QCOMPARE(message.size(), 1);
        QCOMPARE(message.at(0).at(0).toString(), QStringLiteral("last words"));
    }
}

// The engine writes later messages into the storage of delivered ones that came back to it
// (Channel::recycleEvents(), Worker::nextEvent()): a string or byte array a slot kept must never change,
// whatever the sizes that follow.
void tst_Rounds::keptMessagesAreNeverOverwritten()
{
    Rig rig;
    QVERIFY(rig.open(10));
    QStringList keptText;
    QList<QByteArray> keptBinary;
    int echoed = 0;
    for (qws::WebSocket *socket : rig.sockets) {
        connect(socket, &qws::WebSocket::textMessageReceived, this, [&keptText, socket](const QString &m) {
            keptText << m;
            socket->sendTextMessage(m);   // replies make the deferred wake-up that carries the events back
        });
        connect(socket, &qws::WebSocket::binaryMessageReceived, this, [&keptBinary, socket](const QByteArray &m) {
            keptBinary << m;
            socket->sendBinaryMessage(m);
        });
    }
    for (const auto &client : rig.clients) {
        connect(client.get(), &QWebSocket::textMessageReceived, this, [&echoed] { ++echoed; });
        connect(client.get(), &QWebSocket::binaryMessageReceived, this, [&echoed] { ++echoed; });
    }
    // Sizes that grow and shrink, so a later message fits in an earlier one's storage.
    auto text = [](int c, int m) { return QString(1 + (m * 37) % 300, QChar(u'a' + (c + m) % 26)) + QChar(u'é'); };
    auto binary = [](int c, int m) { return QByteArray(1 + (m * 53) % 500, char(c * 16 + m % 16)); };
    constexpr int kRounds = 60;
    for (int m = 0; m < kRounds; ++m) {
        for (std::size_t c = 0; c < rig.clients.size(); ++c) {
            rig.clients[c]->sendTextMessage(text(int(c), m));
            rig.clients[c]->sendBinaryMessage(binary(int(c), m));
        }
        QTest::qWait(2);   // many rounds, not one
    }
    const int expected = kRounds * int(rig.clients.size()) * 2;
    QTRY_COMPARE_WITH_TIMEOUT(echoed, expected, 20000);
    QStringList wantText;
    QList<QByteArray> wantBinary;
    for (int m = 0; m < kRounds; ++m) {
        for (std::size_t c = 0; c < rig.clients.size(); ++c) {
            wantText << text(int(c), m);
            wantBinary << binary(int(c), m);
        }
    }
    std::sort(keptText.begin(), keptText.end());
    std::sort(wantText.begin(), wantText.end());
    std::sort(keptBinary.begin(), keptBinary.end());
    std::sort(wantBinary.begin(), wantBinary.end());
    QCOMPARE(keptText, wantText);
    QCOMPARE(keptBinary, wantBinary);
}

QTEST_MAIN(tst_Rounds)
#include "tst_rounds.moc"
