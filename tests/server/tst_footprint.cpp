// SPDX-License-Identifier: BSD-3-Clause
// What an idle plain connection costs (issue 7: <= 1 KB of RSS each), pinned so it cannot grow unnoticed:
// the malloc chunk of each per-connection block, and the heap bytes per open connection of a real server.
#include "testsupport.h"

#include <peer_p.h>
#include <websocket_p.h>

#include <QtCore/QScopeGuard>
#include <QtTest/QTest>

#include <cstring>
#include <malloc.h>

#include <memory>
#include <vector>

namespace {

/// glibc's malloc chunk for a request of `size` bytes on x86-64: size + 8, rounded up to 16, at least 32.
constexpr std::size_t chunk(std::size_t size)
{
    const std::size_t c = (size + 8 + 15) & ~std::size_t(15);
    return c < 32 ? 32 : c;
}

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBCXX__)
#  define QWS_FOOTPRINT_ABI 1   // the budgets below are x86-64 / glibc / libstdc++ figures
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define QWS_FOOTPRINT_SANITIZED 1   // the sanitizer's allocator: mallinfo2() does not see its heap
#endif

} // namespace

class tst_Footprint : public QObject
{
    Q_OBJECT
private slots:
    void blocksPerConnection();
    void heapPerOpenConnection();
};

/// Each per-connection heap block fits its budget (docs/benchmarks.md, "Idle memory"). A change that
/// crosses one costs 16 bytes per connection or more: make it on purpose, and update the budget and
/// the docs together.
void tst_Footprint::blocksPerConnection()
{
#ifndef QWS_FOOTPRINT_ABI
    QSKIP("the budgets are x86-64 glibc/libstdc++ sizes");
#else
    // Peer holds the plain transport and the protocol core: one block, not three; its flags are bits
    // and one deadline field serves every phase.
    QVERIFY2(chunk(sizeof(qws::Peer)) <= 272, qPrintable(QString::number(sizeof(qws::Peer))));
    QVERIFY(sizeof(qws::protocol::ServerConnection) <= 112);
    // std::make_shared puts the Channel after a 16-byte control block. Its counters are 64 bytes (the
    // round trip and the read pauses in 32 bits), the outbound policy a byte among the flags.
    QVERIFY2(chunk(sizeof(qws::Channel) + 16) <= 272, qPrintable(QString::number(sizeof(qws::Channel))));
    QVERIFY(sizeof(qws::ConnectionInfo) <= 64);
    QVERIFY(sizeof(qws::ConnectionCounters) <= 64);
    // 48 before the server's QPointer (the server-level message signals: +16 B here, -~620 B of
    // per-socket connect()s in an application that uses them).
    QVERIFY2(chunk(sizeof(qws::WebSocketPrivate)) <= 64,
             qPrintable(QString::number(sizeof(qws::WebSocketPrivate))));
    QCOMPARE(sizeof(qws::WebSocket), sizeof(QObject) + sizeof(void *));
#endif
}

/// A real server on one engine thread, 400 plain connections opened and taken: the heap grows by less
/// than 1,050 bytes per connection (engine side + WebSocket; about 960 measured), so no new per-connection
/// allocation (a timer, a buffer kept at rest, a QObject) slips in.
void tst_Footprint::heapPerOpenConnection()
{
#if !defined(QWS_FOOTPRINT_ABI) || defined(QWS_FOOTPRINT_SANITIZED)
    QSKIP("heap accounting needs glibc's malloc (not a sanitizer's) on x86-64");
#else
    constexpr int kConnections = 400;
    qws::WebSocketServer server(QStringLiteral("footprint"), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    server.setMaxPendingConnections(kConnections + 8);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));

    // Raw client sockets, their buffers on the stack: the client side allocates nothing per connection.
    std::vector<int> fds;
    fds.reserve(kConnections + 1);
    std::vector<std::unique_ptr<qws::WebSocket>> sockets;
    sockets.reserve(kConnections + 1);
    auto open = [&](int count) {
        const QByteArray request = testsupport::upgradeRequest();
        for (int i = 0; i < count; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            QVERIFY(fd >= 0);
            fds.push_back(fd);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(server.serverPort());
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            QVERIFY(::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
            QCOMPARE(::send(fd, request.constData(), std::size_t(request.size()), MSG_NOSIGNAL),
                     ssize_t(request.size()));
            char reply[512];
            std::size_t have = 0;
            while (have < 4 || std::memcmp(reply + have - 4, "\r\n\r\n", 4) != 0) {
                pollfd p{fd, POLLIN, 0};
                QVERIFY(::poll(&p, 1, 10000) == 1);
                const ssize_t n = ::recv(fd, reply + have, sizeof reply - have, 0);
                QVERIFY(n > 0 && have + std::size_t(n) < sizeof reply);
                have += std::size_t(n);
            }
            QVERIFY(std::memcmp(reply, "HTTP/1.1 101", 12) == 0);
        }
        QTRY_COMPARE_WITH_TIMEOUT(server.connectionCount(), int(sockets.size()) + count, 20000);
        QTRY_VERIFY(server.hasPendingConnections());
        while (qws::WebSocket *socket = server.nextPendingConnection())
            sockets.emplace_back(socket);
        QCOMPARE(int(sockets.size()), server.connectionCount());
    };
    auto closeClients = qScopeGuard([&fds] {
        for (int fd : fds)
            ::close(fd);
    });
    open(1);   // warm-up: the engine's buffers and Qt's lazily made tables exist
    if (QTest::currentTestFailed())
        return;
    QTest::qWait(100);
    malloc_trim(0);
    const std::size_t before = mallinfo2().uordblks;
    open(kConnections);
    if (QTest::currentTestFailed())
        return;
    QTest::qWait(200);   // the engine has settled (handshake output freed)
    const double perConnection = (double(mallinfo2().uordblks) - double(before)) / kConnections;
    qInfo("heap per open connection: %.0f bytes", perConnection);
    QVERIFY2(perConnection < 1050, qPrintable(QString::number(perConnection)));
#endif
}

QTEST_GUILESS_MAIN(tst_Footprint)
#include "tst_footprint.moc"
