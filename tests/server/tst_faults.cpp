// SPDX-License-Identifier: BSD-3-Clause
// Faulty peers and operational faults over real loopback sockets: resets mid-handshake, mid-frame and
// mid-TLS-handshake, invalid ClientHellos, HTTP to wss and TLS to ws, a port in use, listen/close cycles,
// and nothing lost on healthy connections while faults are injected beside them.
#include "certs.h"
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QTimer>
#include <QtCore/QProcess>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>
#include <vector>

#include <sys/socket.h>

using namespace testsupport;

class tst_Faults : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void resetsMidHandshakeAndMidFrame();
    void tlsFaultsOnWssPort();
    void tlsClientHelloToWsPort();
    void portAlreadyInUse();
    void listenCloseCycled();
    void nothingLostWhileFaultsAreInjected();

private:
    qws::test::TestCertificates m_certs;
    qws::test::CertKey m_cert;
};

namespace {
/// Closes with an RST instead of a FIN (SO_LINGER 0): a peer that vanishes.
void resetConnection(RawClient &raw)
{
    const linger hard{1, 0};
    ::setsockopt(raw.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    raw.close();
}

/// One text echo through a fresh QWebSocket (certificate errors ignored: the test certificate is self-signed).
bool echoes(const QUrl &url)
{
    QWebSocket client;
    QString answer;
    QObject::connect(&client, &QWebSocket::sslErrors, &client, [&](const QList<QSslError> &) { client.ignoreSslErrors(); });
    QObject::connect(&client, &QWebSocket::textMessageReceived, &client, [&](const QString &m) { answer = m; });
    QObject::connect(&client, &QWebSocket::connected, &client, [&] { client.sendTextMessage(QStringLiteral("ping?")); });
    client.open(url);
    const bool ok = QTest::qWaitFor([&] { return answer == QLatin1String("ping?"); }, 5000);
    client.close();
    return ok;
}

/// A TLS 1.2 ClientHello record whose body is garbage after a valid record header.
QByteArray invalidClientHello()
{
    QByteArray hello("\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03", 11);
    hello += QByteArray(32, '\x5a');   // random
    hello += QByteArray("\xff\xff\xff\xff", 4);   // session id length 255, nonsense lengths after
    hello += QByteArray(0x40 + 5 - hello.size(), '\xee');
    return hello;
}
} // namespace

void tst_Faults::initTestCase()
{
    m_cert = m_certs.selfSigned(QStringLiteral("server"));
    QVERIFY2(!m_cert.isNull(), qPrintable(m_certs.error()));
}

void tst_Faults::resetsMidHandshakeAndMidFrame()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    for (int i = 0; i < 20; ++i) {   // mid-handshake: half a request, then RST
        RawClient raw;
        QVERIFY(raw.connectTo(server.serverPort()));
        QVERIFY(raw.send(upgradeRequest().left(40 + i)));
        resetConnection(raw);
    }
    QList<qws::WebSocket *> sockets;
    for (int i = 0; i < 20; ++i) {   // mid-frame: half a 1000-byte frame, then RST
        auto raw = std::make_unique<RawClient>();
        QVERIFY(raw->connectTo(server.serverPort()));
        QVERIFY(raw->send(upgradeRequest()));
        QVERIFY(raw->readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
        QVERIFY(raw->send(clientFrame(0x2, QByteArray(1000, 'q')).left(300 + i)));
        resetConnection(*raw);
    }
    // Every upgraded peer was announced and reports its disconnection; none ever produced a message.
    QTRY_COMPARE_WITH_TIMEOUT(newConnection.size(), 20, 5000);
    QVERIFY(echoes(server.serverUrl()));
    QVERIFY(server.isListening());
}

void tst_Faults::tlsFaultsOnWssPort()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::SecureMode);
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(m_cert.certificate);
    config.setPrivateKey(m_cert.key);
    server.setSslConfiguration(config);
    constexpr int kTimeoutMs = 30000;   // the refusals below must come from the bytes, not the clock
    server.setHandshakeTimeout(kTimeoutMs);
    installEcho(server);
    QVERIFY2(server.listen(QHostAddress::LocalHost), qPrintable(server.errorString()));
    const QUrl url(QStringLiteral("wss://localhost:%1/").arg(server.serverPort()));
    QVERIFY(echoes(url));

    // The reason reaches the operator on qws.tls (info): capture it.
    static QStringList tlsLog;
    tlsLog.clear();
    QLoggingCategory::setFilterRules(QStringLiteral("qws.tls.info=true"));
    const QtMessageHandler previous = qInstallMessageHandler([](QtMsgType, const QMessageLogContext &context, const QString &text) {
        if (context.category && qstrcmp(context.category, "qws.tls") == 0)
            tlsLog << text;
    });
    QElapsedTimer timer;
    timer.start();
    // Plain HTTP to the wss port: the TLS handshake fails at once and the connection is closed.
    const quint64 failuresBefore = server.tlsHandshakeFailureCount();
    RawClient http;
    QVERIFY(http.connectTo(server.serverPort()));
    QVERIFY(http.send(upgradeRequest()));
    QVERIFY(http.waitForClose(10000));
    QVERIFY(!http.buffer().startsWith("HTTP/1.1 101"));
    QTRY_VERIFY_WITH_TIMEOUT(server.tlsHandshakeFailureCount() > failuresBefore, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(tlsLog.join(u'\n').contains(QLatin1String("http request")), 5000);
    // An invalid ClientHello: closed (an alert at most), well before the handshake timeout.
    RawClient garbage;
    QVERIFY(garbage.connectTo(server.serverPort()));
    QVERIFY(garbage.send(invalidClientHello()));
    QVERIFY(garbage.waitForClose(10000));
    QVERIFY(garbage.buffer().isEmpty() || garbage.buffer().startsWith('\x15'));   // TLS alert record
    QVERIFY2(timer.elapsed() < kTimeoutMs / 3, "bad TLS input waited for the handshake timeout");
    qInstallMessageHandler(previous);
    QLoggingCategory::setFilterRules(QString());
    // Mid-TLS-handshake resets: the first bytes of a ClientHello, then RST.
    for (int i = 0; i < 20; ++i) {
        RawClient raw;
        QVERIFY(raw.connectTo(server.serverPort()));
        QVERIFY(raw.send(invalidClientHello().left(5 + i)));
        resetConnection(raw);
    }
    QVERIFY(echoes(url));
    QVERIFY(server.isListening());
}

void tst_Faults::tlsClientHelloToWsPort()
{
    // A long handshake timeout: the refusal must come from the first byte, not from the clock.
    constexpr int kTimeoutMs = 30000;
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(kTimeoutMs);
    installEcho(server);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QElapsedTimer timer;
    timer.start();
    // A ClientHello holds no CRLF; its first byte (0x16) cannot start a request line: 400 at once,
    // with a body that names the likely mistake.
    RawClient tls;
    QVERIFY(tls.connectTo(server.serverPort()));
    QVERIFY(tls.send(invalidClientHello()));
    QVERIFY(tls.waitForClose(10000));
    QVERIFY2(tls.buffer().startsWith("HTTP/1.1 400"), tls.buffer().left(60).constData());
    QVERIFY2(tls.buffer().contains("TLS ClientHello") && tls.buffer().contains("wss://"), tls.buffer().constData());
    QVERIFY2(timer.elapsed() < kTimeoutMs / 3, qPrintable(QString::number(timer.elapsed())));

    // Real TLS clients (Qt's OpenSSL backend): QSslSocket and QWebSocket to wss:// on the ws port. The
    // plain-text 400 is no TLS record, so each fails its handshake and is disconnected promptly.
    timer.restart();
    QSslSocket ssl;
    QSignalSpy sslErrors(&ssl, &QSslSocket::errorOccurred);
    ssl.connectToHostEncrypted(QStringLiteral("127.0.0.1"), server.serverPort());
    QTRY_VERIFY_WITH_TIMEOUT(!sslErrors.isEmpty() && ssl.state() == QAbstractSocket::UnconnectedState, 10000);
    QVERIFY(!ssl.isEncrypted());
    QWebSocket client;
    QSignalSpy errors(&client, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error));
    client.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(server.serverPort())));
    QTRY_VERIFY_WITH_TIMEOUT(!errors.isEmpty(), 10000);
    QVERIFY2(timer.elapsed() < kTimeoutMs / 3, qPrintable(QString::number(timer.elapsed())));
    // Python's ssl module too (another TLS stack's ClientHello): its handshake fails at once.
    QProcess python;
    python.start(testsupport::python(),
                 {QStringLiteral("-c"),
                  QStringLiteral("import socket, ssl, sys\n"
                                 "c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE\n"
                                 "s = socket.create_connection(('127.0.0.1', %1), timeout=20)\n"
                                 "try:\n    c.wrap_socket(s)\nexcept (ssl.SSLError, OSError) as e:\n"
                                 "    print('refused', e); sys.exit(0)\n"
                                 "sys.exit(1)\n").arg(server.serverPort())});
    QVERIFY(python.waitForFinished(kTimeoutMs / 3));
    const QByteArray pythonOutput = python.readAllStandardOutput();
    QVERIFY2(python.exitCode() == 0 && pythonOutput.startsWith("refused"), pythonOutput.constData());
    // The server keeps serving.
    QVERIFY(echoes(server.serverUrl()));
    QVERIFY(server.isListening());
}

void tst_Faults::portAlreadyInUse()
{
    qws::WebSocketServer first(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(first.listen(QHostAddress::LocalHost));
    qws::WebSocketServer second(QString(), qws::WebSocketServer::NonSecureMode);
    QVERIFY(!second.listen(QHostAddress::LocalHost, first.serverPort()));
    QVERIFY(!second.isListening());
    QVERIFY2(!second.errorString().isEmpty(), "no error text for a port in use");
    QVERIFY2(second.errorString().contains(QLatin1String("in use"), Qt::CaseInsensitive),
             qPrintable(second.errorString()));
    installEcho(first);
    QVERIFY(echoes(first.serverUrl()));
}

void tst_Faults::listenCloseCycled()
{
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    installEcho(server);
    QSignalSpy closed(&server, &qws::WebSocketServer::closed);
    for (int i = 0; i < 200; ++i) {
        QVERIFY(server.listen(QHostAddress::LocalHost));
        if (i % 50 == 0)
            QVERIFY(echoes(server.serverUrl()));
        server.close();
        QVERIFY(!server.isListening());
    }
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 200, 2000);
    QVERIFY(server.listen(QHostAddress::LocalHost));
    QVERIFY(echoes(server.serverUrl()));
}

void tst_Faults::nothingLostWhileFaultsAreInjected()
{
    constexpr int kClients = 8;
    constexpr int kMessages = 1000;
    constexpr int kBatch = 50;   // sent per injector tick, so faults and traffic interleave
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(1000);
    // Server side: per connection, inbound sequence numbers must be 0, 1, 2…; each is echoed, and the
    // server sends its own numbered stream too.
    int outOfOrderAtServer = 0, receivedAtServer = 0;
    connect(&server, &qws::WebSocketServer::newConnection, this, [&] {
        while (qws::WebSocket *s = server.nextPendingConnection()) {
            s->setParent(&server);
            auto next = std::make_shared<int>(0);
            connect(s, &qws::WebSocket::textMessageReceived, s, [&, s, next](const QString &m) {
                outOfOrderAtServer += m != QString::number((*next)++);
                ++receivedAtServer;
                s->sendTextMessage(m);
                s->sendBinaryMessage(QByteArray::number(*next - 1));
            });
        }
    });
    QVERIFY(server.listen(QHostAddress::LocalHost));

    // Faults beside them: every 3 ms a connection that resets mid-handshake or mid-frame, or sends garbage.
    std::vector<std::unique_ptr<RawClient>> faulty;
    int faults = 0;
    QTimer injector;
    connect(&injector, &QTimer::timeout, this, [&] {
        auto raw = std::make_unique<RawClient>();
        if (!raw->connectTo(server.serverPort()))
            return;
        switch (faults++ % 3) {
        case 0: raw->send(upgradeRequest().left(50)); resetConnection(*raw); break;
        case 1: raw->send(upgradeRequest() + clientFrame(0x1, QByteArray(500, 'f')).left(100)); resetConnection(*raw); break;
        default: raw->send("\x16\x03\x01 garbage\r\n\r\n"); faulty.push_back(std::move(raw)); break;
        }
    });
    std::vector<std::unique_ptr<QWebSocket>> clients;
    std::vector<int> sent(kClients, 0);
    connect(&injector, &QTimer::timeout, this, [&] {
        for (int c = 0; c < int(clients.size()); ++c) {
            if (clients[c]->state() != QAbstractSocket::ConnectedState)
                continue;
            for (int i = 0; i < kBatch && sent[c] < kMessages; ++i)
                clients[c]->sendTextMessage(QString::number(sent[c]++));
        }
    });
    injector.start(3);

    std::vector<int> echoed(kClients, 0), pushed(kClients, 0);
    int outOfOrderAtClients = 0;
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(std::make_unique<QWebSocket>());
        QWebSocket *client = clients.back().get();
        connect(client, &QWebSocket::textMessageReceived, this, [&, c](const QString &m) {
            outOfOrderAtClients += m != QString::number(echoed[c]++);
        });
        connect(client, &QWebSocket::binaryMessageReceived, this, [&, c](const QByteArray &m) {
            outOfOrderAtClients += m != QByteArray::number(pushed[c]++);
        });
        client->open(server.serverUrl());
    }
    const auto allDone = [&] {
        for (int c = 0; c < kClients; ++c) {
            if (echoed[c] < kMessages || pushed[c] < kMessages)
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allDone(), 20000);
    injector.stop();
    QTest::qWait(100);   // anything duplicated would arrive now
    QVERIFY2(faults >= kMessages / kBatch, qPrintable(QString::number(faults)));
    QCOMPARE(outOfOrderAtServer, 0);
    QCOMPARE(outOfOrderAtClients, 0);
    QCOMPARE(receivedAtServer, kClients * kMessages);
    for (int c = 0; c < kClients; ++c) {
        QCOMPARE(echoed[c], kMessages);
        QCOMPARE(pushed[c], kMessages);
    }
}

QTEST_GUILESS_MAIN(tst_Faults)
#include "tst_faults.moc"
