// SPDX-License-Identifier: BSD-3-Clause
// qws::WebSocketServer against real clients over loopback: Qt's QWebSocket, raw sockets, python, node.
#include "testsupport.h"

#include <corsauthenticator.h>
#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QScopeGuard>
#include <QtCore/QThread>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>
#include <QtWebSockets/QWebSocketHandshakeOptions>

#include <memory>
#include <thread>

#include <sys/resource.h>

using namespace testsupport;
using qws::WebSocketProtocol::CloseCode;

class tst_WebSocketServer : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void defaults();
    void settersRoundTrip();
    void listenAndEcho();
    void newConnectionPerClient();
    void listenAnyIsDualStack();
    void listenPortInUse();
    void listenBadAddress();
    void serverNameHeader();
    void handshakeTimeout();
    void handshakeTimeoutDisabled();
    void maxPendingConnections();
    void connectionStormTakenInSlotIsNotRefused();
    void stalledOwnerStormWaitsInTheBacklog();
    void pauseAndResumeAccepting();
    void nativeDescriptorHandover();
    void nativeDescriptorRejectsNonListening();
    void handleConnectionFromQTcpServer();
    void originRefusedBySlot();
    void allowedOriginsCheckedFirst();
    void subprotocolNegotiated();
    void compressionWithPython();
    void compressionWithNode();
    void gracefulCloseSendsGoingAway();
    void closeWithoutEngineEmitsClosed();
    void destructorDeletesUnclaimedSockets();
    void secureModeWithoutCertificateFails();
    void engineThreadsAreNotTheOwner();
};

static bool connectClient(QWebSocket &client, const QUrl &url)
{
    client.open(url);
    return QTest::qWaitFor([&] { return client.state() == QAbstractSocket::ConnectedState; }, 5000);
}

void tst_WebSocketServer::defaults()
{
    qws::WebSocketServer server(QStringLiteral("name"), qws::WebSocketServer::NonSecureMode);
    QCOMPARE(server.serverName(), QStringLiteral("name"));
    QCOMPARE(server.secureMode(), qws::WebSocketServer::NonSecureMode);
    QCOMPARE(server.maxPendingConnections(), 30);
    QCOMPARE(server.handshakeTimeoutMS(), 10000);
    QCOMPARE(server.handshakeTimeout(), std::chrono::milliseconds(10000));
    QCOMPARE(server.proxy().type(), QNetworkProxy::DefaultProxy);
    QCOMPARE(server.sslConfiguration(), QSslConfiguration::defaultConfiguration());
    QCOMPARE(server.supportedVersions(), QList<qws::WebSocketProtocol::Version>{qws::WebSocketProtocol::Version13});
    QVERIFY(server.supportedSubprotocols().isEmpty());
    QCOMPARE(server.error(), qws::WebSocketProtocol::CloseCodeNormal);
    QVERIFY(server.errorString().isEmpty());
    QVERIFY(!server.isListening());
    QVERIFY(!server.serverUrl().isValid());
    QCOMPARE(server.serverPort(), quint16(0));
    QVERIFY(server.serverAddress().isNull());
    QCOMPARE(server.nativeDescriptor(), qintptr(-1));
    QCOMPARE(server.socketDescriptor(), qintptr(-1));
    QVERIFY(!server.hasPendingConnections());
    QCOMPARE(server.nextPendingConnection(), nullptr);
    QCOMPARE(server.workerThreadCount(), qMax(1, QThread::idealThreadCount()));
    QVERIFY(server.compression().enabled);
    QCOMPARE(server.maxMessageSize(), qint64(64) * 1024 * 1024);
    QCOMPARE(server.maxFrameSize(), qint64(64) * 1024 * 1024);
    QCOMPARE(server.maxInboundQueue(), qint64(4) * 1024 * 1024);
    QCOMPARE(server.maxOutboundQueue(), qint64(16) * 1024 * 1024);
    QCOMPARE(server.outboundPolicy(), qws::OutboundPolicy::CloseConnection);
    QCOMPARE(server.keepAliveInterval(), std::chrono::milliseconds(0));
    QCOMPARE(server.idleTimeout(), std::chrono::milliseconds(0));
    QVERIFY(server.allowedOrigins().isEmpty());
    QCOMPARE(server.connectionCount(), 0);
}

void tst_WebSocketServer::settersRoundTrip()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(1234);
    QCOMPARE(server.handshakeTimeoutMS(), 1234);
    server.setHandshakeTimeout(std::chrono::milliseconds(-1));
    QCOMPARE(server.handshakeTimeout(), std::chrono::milliseconds(-1));
    server.setMaxPendingConnections(7);
    QCOMPARE(server.maxPendingConnections(), 7);
    server.setServerName(QStringLiteral("renamed"));
    QCOMPARE(server.serverName(), QStringLiteral("renamed"));
    server.setProxy(QNetworkProxy(QNetworkProxy::NoProxy));
    QCOMPARE(server.proxy().type(), QNetworkProxy::NoProxy);
    QSslConfiguration custom;
    custom.setPeerVerifyMode(QSslSocket::VerifyNone);
    server.setSslConfiguration(custom);   // ignored in NonSecureMode
    QCOMPARE(server.sslConfiguration(), QSslConfiguration::defaultConfiguration());
    server.setSupportedSubprotocols({QStringLiteral("a"), QStringLiteral("b")});
    QCOMPARE(server.supportedSubprotocols(), (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    server.setWorkerThreadCount(3);
    QCOMPARE(server.workerThreadCount(), 3);
    server.setMaxMessageSize(1000);
    QCOMPARE(server.maxMessageSize(), qint64(1000));
    server.setMaxFrameSize(500);
    QCOMPARE(server.maxFrameSize(), qint64(500));
    server.setAllowedOrigins({QStringLiteral("http://x")});
    QCOMPARE(server.allowedOrigins(), QStringList{QStringLiteral("http://x")});
    server.setKeepAliveInterval(std::chrono::milliseconds(50));
    QCOMPARE(server.keepAliveInterval(), std::chrono::milliseconds(50));
    server.setIdleTimeout(std::chrono::milliseconds(60));
    QCOMPARE(server.idleTimeout(), std::chrono::milliseconds(60));
    server.setMaxInboundQueue(1024);
    QCOMPARE(server.maxInboundQueue(), qint64(1024));
    server.setMaxOutboundQueue(2048, qws::OutboundPolicy::RejectSends);
    QCOMPARE(server.maxOutboundQueue(), qint64(2048));
    QCOMPARE(server.outboundPolicy(), qws::OutboundPolicy::RejectSends);
    qws::CompressionOptions options;
    options.enabled = false;
    options.level = 3;
    server.setCompression(options);
    QVERIFY(!server.compression().enabled);
    QCOMPARE(server.compression().level, 3);
}

void tst_WebSocketServer::listenAndEcho()
{
    qws::WebSocketServer server(QStringLiteral("echo"), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(2);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QVERIFY(server.isListening());
    QVERIFY(server.serverPort() != 0);
    QCOMPARE(server.serverAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(server.serverUrl(), QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())));
    QVERIFY(server.nativeDescriptor() >= 0);

    QWebSocket client;
    QVERIFY(connectClient(client, server.serverUrl()));
    QTRY_COMPARE(newConnection.size(), 1);
    QVERIFY(server.hasPendingConnections());
    QCOMPARE(server.connectionCount(), 1);
    std::unique_ptr<qws::WebSocket> socket(server.nextPendingConnection());
    QVERIFY(socket);
    QVERIFY(!server.hasPendingConnections());
    QCOMPARE(server.nextPendingConnection(), nullptr);
    QVERIFY(socket->isValid());
    connect(socket.get(), &qws::WebSocket::textMessageReceived, socket.get(),
            [&](const QString &m) { socket->sendTextMessage(m.toUpper()); });

    QSignalSpy replies(&client, &QWebSocket::textMessageReceived);
    client.sendTextMessage(QStringLiteral("hello"));
    QTRY_COMPARE(replies.size(), 1);
    QCOMPARE(replies.at(0).at(0).toString(), QStringLiteral("HELLO"));
}

void tst_WebSocketServer::newConnectionPerClient()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket a, b, c;
    a.open(server.serverUrl());
    b.open(server.serverUrl());
    c.open(server.serverUrl());
    QTRY_COMPARE(newConnection.size(), 3);
    QList<qws::WebSocket *> sockets;
    while (qws::WebSocket *s = server.nextPendingConnection())
        sockets.append(s);
    QCOMPARE(sockets.size(), 3);
    QSet<quint64> ids;
    for (qws::WebSocket *s : sockets)
        ids.insert(s->id());
    QCOMPARE(ids.size(), 3);
    qDeleteAll(sockets);
}

void tst_WebSocketServer::listenAnyIsDualStack()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::Any));
    QCOMPARE(server.serverAddress(), QHostAddress(QHostAddress::Any));
    QWebSocket v4;
    QVERIFY(connectClient(v4, QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort()))));
    QWebSocket v6;
    QVERIFY(connectClient(v6, QUrl(QStringLiteral("ws://[::1]:%1").arg(server.serverPort()))));
    QSignalSpy echo(&v6, &QWebSocket::textMessageReceived);
    v6.sendTextMessage(QStringLiteral("six"));
    QTRY_COMPARE(echo.size(), 1);
}

void tst_WebSocketServer::listenPortInUse()
{
    qws::WebSocketServer first(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(first.listen(QHostAddress::LocalHost));
    const quint16 port = first.serverPort();
    qws::WebSocketServer second(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy serverError(&second, &qws::WebSocketServer::serverError);
    QVERIFY(!second.listen(QHostAddress::LocalHost, port));
    QVERIFY(!second.isListening());
    QVERIFY2(second.errorString().contains(QLatin1String("address already in use")), qPrintable(second.errorString()));
    QCOMPARE(second.error(), qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
    QCOMPARE(serverError.size(), 1);
    // After the first closes, the port is free again (SO_REUSEADDR), and errors are cleared.
    first.close();
    QVERIFY2(second.listen(QHostAddress::LocalHost, port), qPrintable(second.errorString()));
    QCOMPARE(second.error(), qws::WebSocketProtocol::CloseCodeNormal);
}

void tst_WebSocketServer::listenBadAddress()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(!server.listen(QHostAddress(QStringLiteral("192.0.2.1"))));   // TEST-NET-1: not on this host
    QVERIFY2(server.errorString().contains(QLatin1String("not available")), qPrintable(server.errorString()));
    QVERIFY(!server.listen(QHostAddress()));
    QVERIFY2(server.errorString().contains(QLatin1String("not an IPv4 or IPv6 address")),
             qPrintable(server.errorString()));
}

void tst_WebSocketServer::serverNameHeader()
{
    qws::WebSocketServer server(QStringLiteral("first-name"), qws::WebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient a;
    QVERIFY(a.connectTo(server.serverPort()));
    QVERIFY(a.send(upgradeRequest()));
    QVERIFY(a.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
    QVERIFY(a.buffer().contains("Server: first-name\r\n"));
    server.setServerName(QStringLiteral("second-name"));   // new clients only
    RawClient b;
    QVERIFY(b.connectTo(server.serverPort()));
    QVERIFY(b.send(upgradeRequest()));
    QVERIFY(b.readUntil("\r\n\r\n").contains("Server: second-name\r\n"));
}

void tst_WebSocketServer::handshakeTimeout()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(200);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient staller;
    QVERIFY(staller.connectTo(server.serverPort()));
    QVERIFY(staller.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));   // ... and nothing more
    QVERIFY(staller.waitForClose(5000));
    QVERIFY2(staller.buffer().startsWith("HTTP/1.1 408"), staller.buffer().constData());
}

void tst_WebSocketServer::handshakeTimeoutDisabled()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(-1);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    RawClient slow;
    QVERIFY(slow.connectTo(server.serverPort()));
    QVERIFY(slow.send("GET / HTTP/1.1\r\n"));
    QTest::qWait(400);   // longer than the 200 ms that times out in handshakeTimeout()
    QVERIFY(slow.send(upgradeRequest().mid(16)));
    QVERIFY2(slow.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"), slow.buffer().constData());
}

void tst_WebSocketServer::maxPendingConnections()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QSignalSpy serverError(&server, &qws::WebSocketServer::serverError);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::vector<std::unique_ptr<QWebSocket>> clients;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(std::make_unique<QWebSocket>());
        clients.back()->open(server.serverUrl());
    }
    QTRY_COMPARE_WITH_TIMEOUT(newConnection.size(), 30, 10000);
    QVERIFY(serverError.isEmpty());

    QWebSocket thirtyFirst;
    QSignalSpy refused(&thirtyFirst, &QWebSocket::disconnected);
    thirtyFirst.open(server.serverUrl());
    QTRY_COMPARE(serverError.size(), 1);
    QCOMPARE(serverError.at(0).at(0).value<qws::WebSocketProtocol::CloseCode>(),
             qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
    QCOMPARE(server.error(), qws::WebSocketProtocol::CloseCodeAbnormalDisconnection);
    QVERIFY(!server.errorString().isEmpty());
    QTRY_COMPARE(refused.size(), 1);
    QVERIFY(thirtyFirst.state() != QAbstractSocket::ConnectedState);
    QCOMPARE(newConnection.size(), 30);

    // A raw client sees the 503, and taking one connection frees a place.
    RawClient raw;
    QVERIFY(raw.connectTo(server.serverPort()));
    QVERIFY(raw.send(upgradeRequest()));
    QVERIFY(raw.readUntil("\r\n\r\n").startsWith("HTTP/1.1 503"));
    delete server.nextPendingConnection();
    QWebSocket late;
    QVERIFY(connectClient(late, server.serverUrl()));
    QTRY_COMPARE(newConnection.size(), 31);
}

void tst_WebSocketServer::connectionStormTakenInSlotIsNotRefused()
{
    // Engine threads finish handshakes faster than the server's thread hears of them; only sockets
    // the server has announced and nobody took count against maxPendingConnections.
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(2);
    installEcho(server);
    QSignalSpy serverError(&server, &qws::WebSocketServer::serverError);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 100; ++i) {   // all requests out before the server's thread runs once
        clients.push_back(std::make_unique<RawClient>());
        QVERIFY(clients.back()->connectTo(server.serverPort()));
        QVERIFY(clients.back()->send(upgradeRequest()));
    }
    for (auto &client : clients)
        QVERIFY2(client->readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"), client->buffer().constData());
    QTRY_COMPARE(server.connectionCount(), 100);
    QVERIFY(serverError.isEmpty());
}

void tst_WebSocketServer::stalledOwnerStormWaitsInTheBacklog()
{
    // 1,100 clients complete their requests while the server's thread (this one) does not run: the
    // engine must not finish more than a bounded number of handshakes for it (1,024 would get 503),
    // so it stops accepting at 512 and the rest wait in the kernel's backlog until the owner catches up.
    constexpr int kClients = 1100;
    rlimit limit{};
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < rlim_t(2 * kClients + 200))
        QSKIP("needs 2,400 open files (both ends of 1,100 connections in this process)");
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    QVERIFY(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
    const auto restore = qScopeGuard([&limit, before] {
        limit.rlim_cur = before;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    });
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    QSignalSpy serverError(&server, &qws::WebSocketServer::serverError);
    std::vector<std::unique_ptr<qws::WebSocket>> taken;
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        while (qws::WebSocket *socket = server.nextPendingConnection())
            taken.emplace_back(socket);
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<RawClient>());
        QVERIFY(clients.back()->connectTo(server.serverPort()));
        QVERIFY(clients.back()->send(upgradeRequest()));
    }
    // The engine works on while this thread sleeps (no event loop: the owner is stalled). It accepts
    // at most 64 at a time while fewer than 512 finished handshakes wait for the owner: ~575 at most.
    QDeadlineTimer stalled(20000);
    while (server.connectionCount() < 512 && !stalled.hasExpired())
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));   // time to run past the bound, if it would
    QVERIFY2(server.connectionCount() >= 512 && server.connectionCount() <= 600,
             qPrintable(QString::number(server.connectionCount())));
    QTRY_COMPARE_WITH_TIMEOUT(int(taken.size()), kClients, 60000);
    for (auto &client : clients)
        QVERIFY2(client->readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"), client->buffer().constData());
    QVERIFY(serverError.isEmpty());
}

void tst_WebSocketServer::pauseAndResumeAccepting()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket before;
    QVERIFY(connectClient(before, server.serverUrl()));
    QTRY_COMPARE(newConnection.size(), 1);

    server.pauseAccepting();   // returns once no engine thread polls the listener
    QWebSocket during;
    during.open(server.serverUrl());
    QTest::qWait(300);
    QCOMPARE(during.state(), QAbstractSocket::ConnectingState);   // in the kernel's backlog, not accepted
    QCOMPARE(newConnection.size(), 1);
    QVERIFY(server.hasPendingConnections());   // queued connections stay queued

    server.resumeAccepting();
    QTRY_COMPARE(during.state(), QAbstractSocket::ConnectedState);
    QTRY_COMPARE(newConnection.size(), 2);
}

void tst_WebSocketServer::nativeDescriptorHandover()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QCOMPARE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    QCOMPARE(::listen(fd, 16), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length);

    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY2(server.setNativeDescriptor(fd), qPrintable(server.errorString()));
    QVERIFY(server.isListening());
    QCOMPARE(server.nativeDescriptor(), qintptr(fd));
    QCOMPARE(server.serverPort(), ntohs(address.sin_port));
    QWebSocket client;
    QVERIFY(connectClient(client, server.serverUrl()));
    QSignalSpy echo(&client, &QWebSocket::binaryMessageReceived);
    client.sendBinaryMessage(QByteArray("\x01\x02", 2));
    QTRY_COMPARE(echo.size(), 1);
    QCOMPARE(echo.at(0).at(0).toByteArray(), QByteArray("\x01\x02", 2));

    // setSocketDescriptor() is the older name of the same thing.
    qws::WebSocketServer other(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(!other.setSocketDescriptor(-1));
    QVERIFY(!other.isListening());
}

void tst_WebSocketServer::nativeDescriptorRejectsNonListening()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(!server.setNativeDescriptor(fd));
    QVERIFY2(server.errorString().contains(QLatin1String("not a listening TCP socket")),
             qPrintable(server.errorString()));
    ::close(fd);
}

void tst_WebSocketServer::handleConnectionFromQTcpServer()
{
    QTcpServer http;
    QVERIFY(http.listen(QHostAddress::LocalHost));
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QPointer<QTcpSocket> taken;
    connect(&http, &QTcpServer::newConnection, &http, [&] {
        QTcpSocket *socket = http.nextPendingConnection();
        // Wait for the request to start arriving, as an HTTP server routing on the path would.
        connect(socket, &QTcpSocket::readyRead, &http, [&server, socket, &taken] {
            if (taken)
                return;
            taken = socket;
            server.handleConnection(socket);
        });
    });
    QVERIFY(!server.isListening());
    QWebSocket client;
    QVERIFY(connectClient(client, QUrl(QStringLiteral("ws://127.0.0.1:%1/upgrade").arg(http.serverPort()))));
    QTRY_COMPARE(newConnection.size(), 1);
    QTRY_VERIFY(taken.isNull());   // the server took ownership and deleted it
    QSignalSpy echo(&client, &QWebSocket::textMessageReceived);
    client.sendTextMessage(QStringLiteral("through the handover"));
    QTRY_COMPARE(echo.size(), 1);
    QCOMPARE(echo.at(0).at(0).toString(), QStringLiteral("through the handover"));
}

void tst_WebSocketServer::originRefusedBySlot()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QStringList seen;
    QMutex mutex;
    connect(&server, &qws::WebSocketServer::originAuthenticationRequired, &server,
            [&](qws::CorsAuthenticator *authenticator) {
                QMutexLocker lock(&mutex);
                seen.append(authenticator->origin());
                QVERIFY(authenticator->allowed());   // allowed by default
                authenticator->setAllowed(authenticator->origin() != QLatin1String("http://evil.example"));
            }, Qt::DirectConnection);

    RawClient evil;
    QVERIFY(evil.connectTo(server.serverPort()));
    QVERIFY(evil.send(upgradeRequest("/", "Origin: http://evil.example\r\n")));
    QVERIFY2(evil.readUntil("\r\n\r\n").startsWith("HTTP/1.1 403"), evil.buffer().constData());

    QWebSocket good(QStringLiteral("http://good.example"));
    QVERIFY(connectClient(good, server.serverUrl()));
    QMutexLocker lock(&mutex);
    QCOMPARE(seen, (QStringList{QStringLiteral("http://evil.example"), QStringLiteral("http://good.example")}));
}

void tst_WebSocketServer::allowedOriginsCheckedFirst()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setAllowedOrigins({QStringLiteral("https://app.example")});
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::atomic<int> slotCalls{0};
    connect(&server, &qws::WebSocketServer::originAuthenticationRequired, &server,
            [&](qws::CorsAuthenticator *) { ++slotCalls; }, Qt::DirectConnection);
    RawClient other;
    QVERIFY(other.connectTo(server.serverPort()));
    QVERIFY(other.send(upgradeRequest("/", "Origin: https://other.example\r\n")));
    QVERIFY(other.readUntil("\r\n\r\n").startsWith("HTTP/1.1 403"));
    QCOMPARE(slotCalls.load(), 0);
    RawClient app;
    QVERIFY(app.connectTo(server.serverPort()));
    QVERIFY(app.send(upgradeRequest("/", "Origin: https://app.example\r\n")));
    QVERIFY(app.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
    QCOMPARE(slotCalls.load(), 1);
}

void tst_WebSocketServer::subprotocolNegotiated()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setSupportedSubprotocols({QStringLiteral("v2.chat"), QStringLiteral("v1.chat")});
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket client;
    QWebSocketHandshakeOptions options;
    options.setSubprotocols({QStringLiteral("v1.chat"), QStringLiteral("v2.chat")});
    client.open(server.serverUrl(), options);
    QTRY_COMPARE(client.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(client.subprotocol(), QStringLiteral("v2.chat"));   // the server's preference wins
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> socket(server.nextPendingConnection());
    QCOMPARE(socket->subprotocol(), QStringLiteral("v2.chat"));

    QWebSocket none;
    QWebSocketHandshakeOptions unknown;
    unknown.setSubprotocols({QStringLiteral("mqtt")});
    none.open(server.serverUrl(), unknown);
    QTRY_COMPARE(newConnection.size(), 2);
    std::unique_ptr<qws::WebSocket> second(server.nextPendingConnection());
    QVERIFY(second->subprotocol().isEmpty());
}

static void runCompressionClient(const QString &script)
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QList<QPointer<qws::WebSocket>> sockets;
    QObject::connect(&server, &qws::WebSocketServer::newConnection, &server, [&] {
        while (qws::WebSocket *socket = server.nextPendingConnection()) {
            sockets.append(socket);
            QObject::connect(socket, &qws::WebSocket::textMessageReceived, socket,
                             [socket](const QString &m) { socket->sendTextMessage(m); });
            QObject::connect(socket, &qws::WebSocket::binaryMessageReceived, socket,
                             [socket](const QByteArray &m) { socket->sendBinaryMessage(m); });
        }
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QProcess client;
    startClient(client, script, {server.serverUrl().toString(), QStringLiteral("20"), QStringLiteral("20000"),
                                 QStringLiteral("deflate")});
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QProcess::NotRunning, 20000);
    const QByteArray out = client.readAllStandardOutput();
    QVERIFY2(client.exitCode() == 0, client.readAllStandardError().constData());
    QVERIFY2(out.contains("permessage-deflate"), out.constData());
    QVERIFY2(out.contains("\"echoed\": 40") || out.contains("\"echoed\":40"), out.constData());
    QCOMPARE(sockets.size(), 1);
    QVERIFY(sockets.first());
    QVERIFY(sockets.first()->isCompressed());
    const qws::ConnectionStats stats = sockets.first()->stats();
    QCOMPARE(stats.messagesReceived, quint64(40));
    QCOMPARE(stats.messagesSent, quint64(40));
    QVERIFY(stats.bytesReceived >= quint64(40 * 20000));
    qDeleteAll(sockets);
}

void tst_WebSocketServer::compressionWithPython()
{
    runCompressionClient(QStringLiteral("echo_client.py"));
}

void tst_WebSocketServer::compressionWithNode()
{
    runCompressionClient(QStringLiteral("echo_client.js"));
}

void tst_WebSocketServer::gracefulCloseSendsGoingAway()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QSignalSpy closed(&server, &qws::WebSocketServer::closed);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket claimedClient, pendingClient;
    QVERIFY(connectClient(claimedClient, server.serverUrl()));
    QTRY_COMPARE(newConnection.size(), 1);
    std::unique_ptr<qws::WebSocket> claimed(server.nextPendingConnection());
    QVERIFY(connectClient(pendingClient, server.serverUrl()));
    QTRY_COMPARE(newConnection.size(), 2);
    QSignalSpy claimedDisconnected(claimed.get(), &qws::WebSocket::disconnected);
    // Data queued just before close() still reaches the client before the 1001.
    QSignalSpy lastMessage(&claimedClient, &QWebSocket::textMessageReceived);
    claimed->sendTextMessage(QStringLiteral("last words"));

    server.close();
    QVERIFY(!server.isListening());
    QVERIFY(!server.hasPendingConnections());
    QTRY_COMPARE(claimedClient.state(), QAbstractSocket::UnconnectedState);
    QTRY_COMPARE(pendingClient.state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(lastMessage.size(), 1);
    QCOMPARE(claimedClient.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(pendingClient.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE(closed.size(), 1);
    QTRY_COMPARE(claimedDisconnected.size(), 1);
    QCOMPARE(claimed->closeCode(), qws::WebSocketProtocol::CloseCodeGoingAway);
    QCOMPARE(claimed->sendTextMessage(QStringLiteral("too late")), qint64(-1));
    QCOMPARE(server.connectionCount(), 0);

    // The server can listen again after a close.
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QWebSocket again;
    QVERIFY(connectClient(again, server.serverUrl()));
}

void tst_WebSocketServer::closeWithoutEngineEmitsClosed()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy closed(&server, &qws::WebSocketServer::closed);
    server.close();
    QCOMPARE(closed.size(), 1);
}

void tst_WebSocketServer::destructorDeletesUnclaimedSockets()
{
    auto server = std::make_unique<qws::WebSocketServer>(QString(), qws::WebSocketServer::NonSecureMode);
    QSignalSpy newConnection(server.get(), &qws::WebSocketServer::newConnection);
    QVERIFY(server->listen(QHostAddress::LocalHost));
    QWebSocket a, b;
    QVERIFY(connectClient(a, server->serverUrl()));
    QVERIFY(connectClient(b, server->serverUrl()));
    QTRY_COMPARE(newConnection.size(), 2);
    std::unique_ptr<qws::WebSocket> claimed(server->nextPendingConnection());
    QSignalSpy claimedDisconnected(claimed.get(), &qws::WebSocket::disconnected);
    server.reset();
    QTRY_COMPARE(a.state(), QAbstractSocket::UnconnectedState);
    QTRY_COMPARE(b.state(), QAbstractSocket::UnconnectedState);
    QTRY_COMPARE(claimedDisconnected.size(), 1);   // the taken socket outlives the server
    QCOMPARE(claimed->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(claimed->sendBinaryMessage("x"), qint64(-1));
}

void tst_WebSocketServer::secureModeWithoutCertificateFails()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::SecureMode);
    QCOMPARE(server.secureMode(), qws::WebSocketServer::SecureMode);
    QVERIFY(!server.listen(QHostAddress::LocalHost));
    QVERIFY(!server.isListening());
    QVERIFY(!server.errorString().isEmpty());
    QVERIFY(server.error() != qws::WebSocketProtocol::CloseCodeNormal);
}

void tst_WebSocketServer::engineThreadsAreNotTheOwner()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(3);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QThread *handshakeThread = nullptr;
    connect(&server, &qws::WebSocketServer::originAuthenticationRequired, &server,
            [&](qws::CorsAuthenticator *) { handshakeThread = QThread::currentThread(); }, Qt::DirectConnection);
    QWebSocket client;
    QVERIFY(connectClient(client, server.serverUrl()));
    QVERIFY(handshakeThread);
    QVERIFY(handshakeThread != QThread::currentThread());
    // Three engine threads, named for ps/top.
    int engines = 0;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(task + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().startsWith("qws-engine-"))
            ++engines;
    }
    QCOMPARE(engines, 3);
}

QTEST_GUILESS_MAIN(tst_WebSocketServer)
#include "tst_websocketserver.moc"
