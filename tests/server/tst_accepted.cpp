// SPDX-License-Identifier: BSD-3-Clause
// What every server-side socket carries, however it reached the engine: TCP_NODELAY (the engine sets it on
// the listener and Linux hands it down to accept4()'s sockets; handed-over sockets get it themselves) and
// its local address (the listener's own when it is bound to one address, getsockname() on a wildcard).
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>
#include <QtWebSockets/QWebSocket>

#include <netinet/tcp.h>

#include <memory>
#include <vector>

using namespace testsupport;

namespace {

/// This process's connected TCP sockets whose local port is `port`: with the clients in this process too,
/// those are exactly the server-side ends. For each, whether TCP_NODELAY is on.
std::vector<bool> serverSideNoDelay(quint16 port)
{
    std::vector<bool> result;
    const QStringList entries = QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System);
    for (const QString &entry : entries) {
        const int fd = entry.toInt();
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr *>(&local), &length) != 0)
            continue;
        quint16 localPort = 0;
        if (local.ss_family == AF_INET)
            localPort = ntohs(reinterpret_cast<const sockaddr_in &>(local).sin_port);
        else if (local.ss_family == AF_INET6)
            localPort = ntohs(reinterpret_cast<const sockaddr_in6 &>(local).sin6_port);
        else
            continue;
        int listening = 0;
        length = sizeof listening;
        ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
        if (localPort != port || listening)
            continue;
        int noDelay = 0;
        length = sizeof noDelay;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &noDelay, &length) == 0)
            result.push_back(noDelay != 0);
    }
    return result;
}

bool connectClient(QWebSocket &client, const QUrl &url)
{
    QSignalSpy connected(&client, &QWebSocket::connected);
    client.open(url);
    return connected.wait(10000);
}

} // namespace

class tst_Accepted : public QObject
{
    Q_OBJECT

private slots:
    void noDelayAndLocalAddress_data();
    void noDelayAndLocalAddress();
    void handedOverSocketsGetNoDelay();
};

void tst_Accepted::noDelayAndLocalAddress_data()
{
    QTest::addColumn<QHostAddress>("listenOn");
    QTest::addColumn<QString>("clientHost");
    QTest::addColumn<QHostAddress>("expectedLocal");
    const QHostAddress v4(QHostAddress::LocalHost);
    const QHostAddress v6(QHostAddress::LocalHostIPv6);
    QTest::newRow("127.0.0.1 (the listener's address)") << v4 << "127.0.0.1" << v4;
    QTest::newRow("::1 (the listener's address)") << v6 << "[::1]" << v6;
    QTest::newRow("AnyIPv4, client on 127.0.0.1 (getsockname)") << QHostAddress(QHostAddress::AnyIPv4) << "127.0.0.1" << v4;
    QTest::newRow("Any, client on ::1 (getsockname)") << QHostAddress(QHostAddress::Any) << "[::1]" << v6;
}

void tst_Accepted::noDelayAndLocalAddress()
{
    QFETCH(QHostAddress, listenOn);
    QFETCH(QString, clientHost);
    QFETCH(QHostAddress, expectedLocal);
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY2(server.listen(listenOn), qPrintable(server.errorString()));
    constexpr int kClients = 3;
    std::vector<std::unique_ptr<QWebSocket>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<QWebSocket>());
        QVERIFY(connectClient(*clients.back(),
                              QUrl(QStringLiteral("ws://%1:%2").arg(clientHost).arg(server.serverPort()))));
    }
    QTRY_VERIFY(server.hasPendingConnections());
    std::vector<std::unique_ptr<qws::WebSocket>> sockets;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                                 while (qws::WebSocket *socket = server.nextPendingConnection())
                                     sockets.emplace_back(socket);
                                 return sockets.size() == kClients;
                             }()),
                             10000);
    for (const auto &socket : sockets) {
        QVERIFY2(socket->localAddress().isEqual(expectedLocal, QHostAddress::TolerantConversion),
                 qPrintable(socket->localAddress().toString()));
        QCOMPARE(socket->localPort(), server.serverPort());
    }
    const std::vector<bool> noDelay = serverSideNoDelay(server.serverPort());
    QCOMPARE(int(noDelay.size()), kClients);
    for (bool on : noDelay)
        QVERIFY(on);
}

void tst_Accepted::handedOverSocketsGetNoDelay()
{
    // Qt's QTcpServer leaves TCP_NODELAY off; the engine turns it on for what handleConnection() gives it.
    QTcpServer tcp;
    QVERIFY(tcp.listen(QHostAddress::LocalHost));
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QObject::connect(&tcp, &QTcpServer::newConnection, &tcp, [&] {
        while (QTcpSocket *socket = tcp.nextPendingConnection())
            server.handleConnection(socket);
    });
    QWebSocket client;
    QVERIFY(connectClient(client, QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(tcp.serverPort()))));
    QSignalSpy echo(&client, &QWebSocket::textMessageReceived);
    client.sendTextMessage(QStringLiteral("over"));
    QTRY_COMPARE(echo.size(), 1);
    const std::vector<bool> noDelay = serverSideNoDelay(tcp.serverPort());
    QCOMPARE(int(noDelay.size()), 1);
    QVERIFY(noDelay.front());
}

QTEST_MAIN(tst_Accepted)
#include "tst_accepted.moc"
