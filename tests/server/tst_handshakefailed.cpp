// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServer::handshakeFailed(): one case per reason, against raw loopback clients whose local
// address and port must come back as the peer's; the cap per batch; nothing collected unconnected.
#include "testsupport.h"

#include <server/corsauthenticator.h>
#include <server/selfsigned_p.h>
#include <server/websocketserver.h>

#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <sys/socket.h>

using namespace qws;
using namespace testsupport;
using Failure = WebSocketServer::HandshakeFailure;


#define EXPECT_ONE(spy, client, reason, report)                                                    \
    do {                                                                                           \
        expectOne(spy, client, reason, report);                                                    \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
    } while (false)

namespace {

/// The client's own end of the connection: what the server must report as the peer.
std::pair<QHostAddress, quint16> localEnd(const RawClient &client)
{
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(client.fd(), reinterpret_cast<sockaddr *>(&address), &length);
    return {QHostAddress(ntohl(address.sin_addr.s_addr)), ntohs(address.sin_port)};
}

struct Report {
    QHostAddress address;
    quint16 port = 0;
    Failure reason = Failure::BadRequest;
    QString text;
};

Report reportAt(const QSignalSpy &spy, qsizetype i)
{
    const QList<QVariant> &args = spy.at(i);
    return {args.at(0).value<QHostAddress>(), args.at(1).value<quint16>(), args.at(2).value<Failure>(),
            args.at(3).toString()};
}

} // namespace

class tst_HandshakeFailed : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void badRequest_data();
    void badRequest();
    void timeout();
    void originRefused();
    void tlsFailed();
    void tlsTimeout();
    void serverFull();
    void connectionLost_data();
    void connectionLost();
    void connectionLostDuringTls();
    void notCollectedWhenNotConnected();
    void cappedPerBatch();

private:
    bool listen(WebSocketServer &server) { return server.listen(QHostAddress::LocalHost, 0); }
    bool listenSecure(WebSocketServer &server)
    {
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setLocalCertificate(m_certificate.certificate);
        config.setPrivateKey(m_certificate.privateKey);
        server.setSslConfiguration(config);
        return listen(server);
    }
    /// Waits for exactly one report and checks that it names `client`'s end and `reason`.
    void expectOne(QSignalSpy &spy, const RawClient &client, Failure reason, Report &r)
    {
        QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty(), 20000);
        QTest::qWait(50);   // a second report for the same client would arrive by now
        QCOMPARE(spy.size(), qsizetype(1));
        r = reportAt(spy, 0);
        const auto [address, port] = localEnd(client);
        QCOMPARE(r.reason, reason);
        QVERIFY2(r.address.isEqual(address, QHostAddress::ConvertV4MappedToIPv4), qPrintable(r.address.toString()));
        QCOMPARE(r.port, port);
        QVERIFY(!r.text.isEmpty());
    }

    SelfSignedCertificate m_certificate;
};

void tst_HandshakeFailed::initTestCase()
{
    qRegisterMetaType<Failure>();
    QString error;
    m_certificate = generateSelfSignedCertificate({}, &error);
    QVERIFY2(!m_certificate.isNull(), qPrintable(error));
}

void tst_HandshakeFailed::badRequest_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("what");
    QTest::newRow("plain HTTP GET, no Upgrade → 400")
            << QByteArray("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") << "HTTP 400" << "Upgrade";
    QTest::newRow("POST → 405") << upgradeRequest().replace("GET ", "POST ") << "HTTP 405" << "GET";
    QTest::newRow("Sec-WebSocket-Version 8 → 426")
            << upgradeRequest().replace("Version: 13", "Version: 8") << "HTTP 426" << "Version";
    QTest::newRow("not HTTP at all → 400") << QByteArray("\x16\x03\x01\x00\x10hello\r\n\r\n", 15) << "HTTP 400"
                                           << "";
}

void tst_HandshakeFailed::badRequest()
{
    QFETCH(QByteArray, request);
    QFETCH(QString, status);
    QFETCH(QString, what);
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY(listen(server));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send(request));
    QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 " + status.mid(5).toLatin1()));
    Report r;
    EXPECT_ONE(spy, client, Failure::BadRequest, r);
    QVERIFY2(r.text.contains(status) && r.text.contains(what, Qt::CaseInsensitive), qPrintable(r.text));
}

void tst_HandshakeFailed::timeout()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    server.setHandshakeTimeout(300);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY(listen(server));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));   // and then nothing: a slowloris
    QVERIFY(client.readUntil("\r\n\r\n", 20000).startsWith("HTTP/1.1 408"));
    Report r;
    EXPECT_ONE(spy, client, Failure::Timeout, r);
    QVERIFY2(r.text.contains(QLatin1String("300 ms")) && r.text.contains(QLatin1String("HTTP 408")),
             qPrintable(r.text));
}

void tst_HandshakeFailed::originRefused()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    server.setAllowedOrigins({QStringLiteral("https://good.example")});
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY(listen(server));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send(upgradeRequest("/", "Origin: https://evil.example\r\n")));
    QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 403"));
    Report r;
    EXPECT_ONE(spy, client, Failure::OriginRefused, r);
    QVERIFY2(r.text.contains(QLatin1String("https://evil.example")) && r.text.contains(QLatin1String("403")),
             qPrintable(r.text));

    // Refused by an originAuthenticationRequired() slot instead of the list: the same reason.
    server.setAllowedOrigins({});
    connect(&server, &WebSocketServer::originAuthenticationRequired, this,
            [](CorsAuthenticator *a) { a->setAllowed(false); }, Qt::DirectConnection);
    spy.clear();
    RawClient second;
    QVERIFY(second.connectTo(server.serverPort()));
    QVERIFY(second.send(upgradeRequest("/", "Origin: https://other.example\r\n")));
    QVERIFY(second.readUntil("\r\n\r\n").startsWith("HTTP/1.1 403"));
    Report rsecond;
    EXPECT_ONE(spy, second, Failure::OriginRefused, rsecond);
}

void tst_HandshakeFailed::tlsFailed()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::SecureMode);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY2(listenSecure(server), qPrintable(server.errorString()));
    RawClient client;   // plain HTTP to a wss port
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send(upgradeRequest()));
    QVERIFY(client.waitForClose(20000));
    Report r;
    EXPECT_ONE(spy, client, Failure::TlsFailed, r);
    QVERIFY2(r.text.contains(QLatin1String("http request"), Qt::CaseInsensitive), qPrintable(r.text));
    QCOMPARE(server.tlsHandshakeFailureCount(), quint64(1));

    spy.clear();
    RawClient garbage;
    QVERIFY(garbage.connectTo(server.serverPort()));
    QByteArray bytes;
    for (int i = 0; i < 64; ++i)
        bytes += char(i);
    QVERIFY(garbage.send(bytes));
    QVERIFY(garbage.waitForClose(20000));
    Report g;
    EXPECT_ONE(spy, garbage, Failure::TlsFailed, g);
    QVERIFY2(g.text.contains(QLatin1String("wrong version number")), qPrintable(g.text));
    QCOMPARE(server.tlsHandshakeFailureCount(), quint64(2));
}

void tst_HandshakeFailed::tlsTimeout()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::SecureMode);
    server.setHandshakeTimeout(300);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY2(listenSecure(server), qPrintable(server.errorString()));
    RawClient client;   // connects, never says hello
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.waitForClose(20000));
    Report r;
    EXPECT_ONE(spy, client, Failure::Timeout, r);
    QVERIFY2(r.text.contains(QLatin1String("TLS")) && r.text.contains(QLatin1String("300 ms")), qPrintable(r.text));
}

void tst_HandshakeFailed::serverFull()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    server.setMaxPendingConnections(1);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QSignalSpy errors(&server, &WebSocketServer::serverError);
    QVERIFY(listen(server));
    RawClient first;   // completes its handshake and is never taken: the pending queue is full
    QVERIFY(first.connectTo(server.serverPort()));
    QVERIFY(first.send(upgradeRequest()));
    QVERIFY(first.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"));
    QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 20000);
    RawClient second;
    QVERIFY(second.connectTo(server.serverPort()));
    QVERIFY(second.send(upgradeRequest()));
    QVERIFY(second.readUntil("\r\n\r\n").startsWith("HTTP/1.1 503"));
    Report r;
    EXPECT_ONE(spy, second, Failure::ServerFull, r);
    QVERIFY2(r.text.contains(QLatin1String("pending")) && r.text.contains(QLatin1String("503")), qPrintable(r.text));
    // serverError() is still emitted as before, in addition.
    QCOMPARE(errors.size(), qsizetype(1));
    QCOMPARE(errors.at(0).at(0).value<WebSocketProtocol::CloseCode>(), WebSocketProtocol::CloseCodeAbnormalDisconnection);
}

void tst_HandshakeFailed::connectionLost_data()
{
    QTest::addColumn<bool>("reset");
    QTest::addColumn<QString>("what");
    QTest::newRow("FIN mid-request") << false << "closed";
    QTest::newRow("RST mid-request") << true << "reset";
}

void tst_HandshakeFailed::connectionLost()
{
    QFETCH(bool, reset);
    QFETCH(QString, what);
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY(listen(server));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    const auto [address, port] = localEnd(client);
    QTest::qWait(100);   // the server has read the partial request
    if (reset) {
        const linger hard{1, 0};
        ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    client.close();
    QVERIFY(spy.wait(20000));
    const Report r = reportAt(spy, 0);
    QCOMPARE(r.reason, Failure::ConnectionLost);
    QVERIFY(r.address.isEqual(address, QHostAddress::ConvertV4MappedToIPv4));
    QCOMPARE(r.port, port);
    QVERIFY2(r.text.contains(what) && r.text.contains(QLatin1String("opening handshake")), qPrintable(r.text));
    QTest::qWait(50);
    QCOMPARE(spy.size(), qsizetype(1));
}

void tst_HandshakeFailed::connectionLostDuringTls()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::SecureMode);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY2(listenSecure(server), qPrintable(server.errorString()));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send(QByteArray("\x16\x03\x01\x00\x40\x01\x00", 7)));   // a ClientHello that never ends
    const auto [address, port] = localEnd(client);
    QTest::qWait(100);
    client.close();
    QVERIFY(spy.wait(20000));
    const Report r = reportAt(spy, 0);
    QCOMPARE(r.reason, Failure::ConnectionLost);
    QVERIFY(r.address.isEqual(address, QHostAddress::ConvertV4MappedToIPv4));
    QCOMPARE(r.port, port);
    QVERIFY2(r.text.contains(QLatin1String("closed the connection")), qPrintable(r.text));
    QTRY_COMPARE(server.tlsHandshakeFailureCount(), quint64(1));   // still counted as before
}

void tst_HandshakeFailed::notCollectedWhenNotConnected()
{
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    QVERIFY(listen(server));
    for (int i = 0; i < 5; ++i) {
        RawClient client;
        QVERIFY(client.connectTo(server.serverPort()));
        QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 400"));
    }
    // Had these been collected, they would be waiting in the server's queue and reach a slot
    // connected now, before the next batch.
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QTest::qWait(200);
    QCOMPARE(spy.size(), qsizetype(0));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    Report rclient;
    EXPECT_ONE(spy, client, Failure::BadRequest, rclient);

    // Disconnected again: collection stops.
    QObject::disconnect(&server, &WebSocketServer::handshakeFailed, &spy, nullptr);
    int late = 0;
    RawClient after;
    QVERIFY(after.connectTo(server.serverPort()));
    QVERIFY(after.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    QVERIFY(after.readUntil("\r\n\r\n").startsWith("HTTP/1.1 400"));
    connect(&server, &WebSocketServer::handshakeFailed, this, [&late] { ++late; });
    QTest::qWait(200);
    QCOMPARE(late, 0);
}

void tst_HandshakeFailed::cappedPerBatch()
{
    // The test thread owns the server and does not run its event loop while the clients fail
    // (RawClient blocks in poll()), so every failure waits in one batch.
    const int extra = 40;
    const int total = WebSocketServer::kMaxHandshakeFailuresPerBatch + extra;
    WebSocketServer server(QStringLiteral("t"), WebSocketServer::NonSecureMode);
    QSignalSpy spy(&server, &WebSocketServer::handshakeFailed);
    QVERIFY(listen(server));
    for (int i = 0; i < total; ++i) {
        RawClient client;
        QVERIFY(client.connectTo(server.serverPort()));
        QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        QVERIFY(client.readUntil("\r\n\r\n").startsWith("HTTP/1.1 400"));
    }
    QCOMPARE(server.droppedHandshakeFailureCount(), quint64(extra));
    QTRY_COMPARE_WITH_TIMEOUT(spy.size(), qsizetype(WebSocketServer::kMaxHandshakeFailuresPerBatch), 20000);
    QTest::qWait(100);
    QCOMPARE(spy.size(), qsizetype(WebSocketServer::kMaxHandshakeFailuresPerBatch));

    // The next batch has room again.
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QVERIFY(client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    QTRY_COMPARE_WITH_TIMEOUT(spy.size(), qsizetype(WebSocketServer::kMaxHandshakeFailuresPerBatch + 1), 20000);
    QCOMPARE(server.droppedHandshakeFailureCount(), quint64(extra));
}

QTEST_GUILESS_MAIN(tst_HandshakeFailed)
#include "tst_handshakefailed.moc"
