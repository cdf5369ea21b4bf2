// SPDX-License-Identifier: BSD-3-Clause
// The storage of delivered messages goes back to the engine (Channel::recycleEvents(),
// Worker::nextEvent()): in a steady echo, a text message's QString is not allocated per message. This
// binary counts malloc() calls itself (it interposes malloc, forwarding to glibc's), so it is left out
// of sanitizer builds, whose runtime owns malloc.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtTest/QTest>

#include <atomic>
#include <cstddef>

extern "C" void *__libc_malloc(std::size_t size);

namespace {
// malloc() calls whose size is in [g_low, g_high], counted while g_counting.
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_low{0}, g_high{0};
std::atomic<long> g_count{0};
} // namespace

extern "C" void *malloc(std::size_t size)
{
    if (g_counting.load(std::memory_order_relaxed) && size >= g_low.load(std::memory_order_relaxed)
        && size <= g_high.load(std::memory_order_relaxed))
        g_count.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}

using namespace testsupport;

class tst_Recycling : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void echoAllocatesNoStringPerMessage_data();
    void echoAllocatesNoStringPerMessage();
};

void tst_Recycling::echoAllocatesNoStringPerMessage_data()
{
    QTest::addColumn<bool>("keep");
    QTest::newRow("slot keeps nothing: storage reused") << false;
    QTest::newRow("slot keeps every message: a new string each (the control)") << true;
}

void tst_Recycling::echoAllocatesNoStringPerMessage()
{
    QFETCH(bool, keep);
    qws::WebSocketServer server(QStringLiteral("recycling"), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QStringList kept;
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        while (qws::WebSocket *socket = server.nextPendingConnection())
            socket->setParent(&server);
    });
    connect(&server, &qws::WebSocketServer::textMessageReceived, this,
            [&](qws::WebSocket *socket, const QString &message) {
                if (keep)
                    kept << message;
                socket->sendTextMessage(message);
            });

    // A raw client: it allocates no QString of its own, so the count is the server's.
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send(upgradeRequest()));
    QVERIFY(QTest::qWaitFor([&] { return client.readUntil("\r\n\r\n", 1).contains("\r\n\r\n"); }, 5000));
    QVERIFY(client.buffer().startsWith("HTTP/1.1 101"));
    client.clear();

    // A 200-character message: its QString is one malloc of 16 + 2 × 201 bytes (header, UTF-16, NUL).
    const QByteArray text(200, 'q');
    const QByteArray frame = clientFrame(0x1, text);
    const QByteArray echo = QByteArray("\x81\x7e\x00\xc8", 4) + text;
    auto roundTrips = [&](int count) {
        for (int i = 0; i < count; ++i) {
            if (!client.send(frame))
                return false;
            // Wait for the echo before the next message: every message is a round of its own. The
            // server lives on this thread: its events run between short reads.
            if (!QTest::qWaitFor([&] { return client.readUntil(echo, 1).endsWith(echo); }, 5000))
                return false;
            client.clear();
        }
        return true;
    };
    QVERIFY(roundTrips(20));   // warm-up: the first event vectors travel back to the engine
    g_low = 16 + 2 * 201 - 16;
    g_high = 16 + 2 * 201 + 16;
    g_count = 0;
    g_counting = true;
    constexpr int kMessages = 200;
    const bool ok = roundTrips(kMessages);
    g_counting = false;
    QVERIFY(ok);
    const long allocations = g_count.load();
    qDebug("%ld allocations of a 200-character string's size for %d messages", allocations, kMessages);
    if (keep)
        QVERIFY2(allocations >= kMessages, "the control must see one string per message");
    else
        QVERIFY2(allocations <= kMessages / 10, "a message's string should reuse a delivered one's storage");
}

QTEST_MAIN(tst_Recycling)
#include "tst_recycling.moc"
