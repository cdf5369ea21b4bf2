// SPDX-License-Identifier: BSD-3-Clause
// qws_memprobe: where the bytes of an idle connection go (issue 7, docs/benchmarks.md "Idle connections").
//
// Prints sizeof() of every per-connection engine object, then runs a qws::WebSocketServer in this process,
// opens N plain connections to it from a client thread (raw sockets, no heap use on the client side), and
// reports the heap bytes in use (mallinfo2().uordblks, all arenas) and RSS per connection at each stage:
//   open     the engine side (Peer with its transport and core, Channel) plus the WebSocket the server made
//   taken    after nextPendingConnection() took every socket
//   echoing  after the three connect() calls the echo server makes per socket (application cost)
// Usage: qws_memprobe [connections=4000] [engine threads=1]
#include <peer_p.h>
#include <plaintransport_p.h>
#include <websocket.h>
#include <websocket_p.h>
#include <websocketserver.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QThread>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include "fdlimit.h"
#include <sys/socket.h>
#include <unistd.h>

namespace {

long rssKb()
{
    long pages = 0, resident = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(f);
    }
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

std::size_t heapInUse()
{
    return mallinfo2().uordblks;
}

/// glibc chunk size of a malloc(size) on x86-64: size + 8 rounded up to 16, at least 32.
std::size_t chunk(std::size_t size)
{
    const std::size_t c = (size + 8 + 15) & ~std::size_t(15);
    return c < 32 ? 32 : c;
}

/// Opens `count` connections and completes their handshakes one by one; the fds stay open in `fds`.
bool openClients(quint16 port, int count, std::vector<int> &fds)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char request[512];
    const int requestSize = std::snprintf(
        request, sizeof request,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", unsigned(port));
    char reply[1024];
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
            || ::write(fd, request, std::size_t(requestSize)) != requestSize) {
            std::fprintf(stderr, "qws_memprobe: connection %d failed: %s\n", i, std::strerror(errno));
            return false;
        }
        // The 101 response ends with an empty line; it arrives in one segment on loopback.
        std::size_t have = 0;
        while (have < 4 || std::memcmp(reply + have - 4, "\r\n\r\n", 4) != 0) {
            const ssize_t n = ::read(fd, reply + have, sizeof reply - have);
            if (n <= 0 || have + std::size_t(n) >= sizeof reply) {
                std::fprintf(stderr, "qws_memprobe: no 101 on connection %d\n", i);
                return false;
            }
            have += std::size_t(n);
        }
        if (std::strncmp(reply, "HTTP/1.1 101", 12) != 0) {
            std::fprintf(stderr, "qws_memprobe: refused: %.*s\n", int(have), reply);
            return false;
        }
        fds.push_back(fd);
    }
    return true;
}

void settle(int ms)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < ms) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(5);
    }
}

struct Stage {
    const char *name;
    std::size_t heap;
    long rss;
};

} // namespace

int main(int argc, char *argv[])
{
    const rlim_t fileLimit = qws::examples::raiseFileLimit();
    QCoreApplication app(argc, argv);
    const int count = argc > 1 ? std::atoi(argv[1]) : 4000;
    const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
    if (count <= 0 || 2 * rlim_t(count) + 64 > fileLimit) {
        std::fprintf(stderr, "qws_memprobe: need 0 < connections and 2 fds each (limit %lu)\n",
                     static_cast<unsigned long>(fileLimit));
        return 2;
    }

    std::printf("## sizeof per-connection objects (heap chunk = size + 8, rounded to 16)\n\n");
    std::printf("| object | sizeof | chunk |\n| --- | ---: | ---: |\n");
    auto row = [](const char *name, std::size_t size) {
        if (std::strncmp(name, "  of which", 10) == 0)   // a member, not a heap block of its own
            std::printf("| %s | %zu | - |\n", name, size);
        else
            std::printf("| %s | %zu | %zu |\n", name, size, chunk(size));
    };
    row("qws::Peer (one block: transport and core inside)", sizeof(qws::Peer));
    row("  of which qws::PlainTransport", sizeof(qws::PlainTransport));
    row("  of which protocol::ServerConnection", sizeof(qws::protocol::ServerConnection));
    row("  of which protocol::ClosingHandshake", sizeof(qws::protocol::ClosingHandshake));
    row("  of which qws::OutQueue", sizeof(qws::OutQueue));
    row("protocol::MessageAssembler (while data flows)", sizeof(qws::protocol::MessageAssembler));
    row("qws::Channel (make_shared adds 16)", sizeof(qws::Channel) + 16);
    row("  of which ConnectionInfo", sizeof(qws::ConnectionInfo));
    row("  of which ConnectionCounters", sizeof(qws::ConnectionCounters));
    row("qws::WebSocket (QObject)", sizeof(qws::WebSocket));
    row("qws::WebSocketPrivate", sizeof(qws::WebSocketPrivate));

    qws::WebSocketServer server(QStringLiteral("memprobe"), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(threads);
    server.setMaxPendingConnections(count + 16);
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        std::fprintf(stderr, "qws_memprobe: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    const quint16 port = server.serverPort();

    // Warm up: one connection end to end, so engine buffers and Qt's lazily made tables exist.
    {
        std::vector<int> warm;
        if (!openClients(port, 1, warm))
            return 1;
        settle(200);
        while (qws::WebSocket *socket = server.nextPendingConnection())
            delete socket;
        ::close(warm[0]);
        settle(300);
    }

    std::vector<Stage> stages;
    malloc_trim(0);
    stages.push_back({"baseline", heapInUse(), rssKb()});

    std::vector<int> fds;
    fds.reserve(std::size_t(count));   // before the baseline would be fairer; it is the client's, tiny
    std::atomic<bool> clientsOk{false};
    std::atomic<bool> clientsDone{false};
    std::thread client([&] {
        clientsOk = openClients(port, count, fds);
        clientsDone = true;
    });
    while (!clientsDone.load())
        settle(50);
    client.join();
    if (!clientsOk)
        return 1;
    QElapsedTimer waited;
    waited.start();
    while (server.connectionCount() < count && waited.elapsed() < 30000)
        settle(50);
    settle(500);
    stages.push_back({"open (pending)", heapInUse(), rssKb()});

    std::vector<qws::WebSocket *> sockets;
    sockets.reserve(std::size_t(count));
    const std::size_t vectorBytes = std::size_t(count) * sizeof(void *);
    while (qws::WebSocket *socket = server.nextPendingConnection())
        sockets.push_back(socket);
    settle(300);
    stages.push_back({"taken", heapInUse() - vectorBytes, rssKb()});

    for (qws::WebSocket *socket : sockets) {
        QObject::connect(socket, &qws::WebSocket::textMessageReceived, socket,
                         [socket](const QString &message) { socket->sendTextMessage(message); });
        QObject::connect(socket, &qws::WebSocket::binaryMessageReceived, socket,
                         [socket](const QByteArray &message) { socket->sendBinaryMessage(message); });
        QObject::connect(socket, &qws::WebSocket::disconnected, socket, &QObject::deleteLater);
    }
    settle(300);
    stages.push_back({"echoing (3 connects)", heapInUse() - vectorBytes, rssKb()});

    std::printf("\n## %d connections, %d engine thread(s): heap in use (mallinfo2) and RSS\n\n", count, threads);
    std::printf("| stage | heap in use | heap B/conn vs previous | RSS KiB | RSS B/conn vs baseline |\n");
    std::printf("| --- | ---: | ---: | ---: | ---: |\n");
    for (std::size_t i = 0; i < stages.size(); ++i) {
        const Stage &s = stages[i];
        const double perConn = i ? (double(s.heap) - double(stages[i - 1].heap)) / count : 0;
        const double rssPerConn = i ? double(s.rss - stages[0].rss) * 1024.0 / count : 0;
        std::printf("| %s | %zu | %.0f | %ld | %.0f |\n", s.name, s.heap, perConn, s.rss, rssPerConn);
    }
    std::printf("\nheap in use per connection, total: %.0f B\n",
                (double(stages.back().heap) - double(stages[0].heap)) / count);

    for (qws::WebSocket *socket : sockets)
        delete socket;
    for (int fd : fds)
        ::close(fd);
    settle(300);
    return 0;
}
