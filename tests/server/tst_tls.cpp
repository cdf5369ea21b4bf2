// SPDX-License-Identifier: BSD-3-Clause
// qws::TlsContext / TlsTransport against real TLS clients (QSslSocket, openssl s_client, raw sockets),
// with certificates generated at test time by the openssl CLI.
#include "certs.h"
#include "tlsharness.h"
#include "tlsclients.h"

#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>
#include <QtTest/QtTest>

using namespace qws;
using namespace qws::test;

class tst_Tls : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void buildErrors_data();
    void buildErrors();
    void failedBuildKeepsPreviousContext();
    void echoWithQSslSocket();
    void echoWithOpenSslClient();
    void alpnWithoutCommonProtocol();
    void floorRefusesTls11();
    void protocolRange();
    void clientCertificate_data();
    void clientCertificate();
    void garbage_data();
    void garbage();
    void peerResetMidHandshake();
    void peerClosesMidHandshake();
    void preSharedKey();
    void preSharedKeyRefused();

private:
    QSslConfiguration serverConfig(const CertKey &pair) const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setLocalCertificate(pair.certificate);
        c.setPrivateKey(pair.key);
        return c;
    }
    QSslConfiguration clientTrusting(const QSslCertificate &ca) const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setCaCertificates({ca});
        return c;
    }
    QList<QSslCipher> pskCiphers() const
    {
        QList<QSslCipher> list;
        for (const QSslCipher &c : QSslConfiguration::supportedCiphers())
            if (c.name().startsWith(QLatin1String("PSK-")))
                list << c;
        return list;
    }

    TestCertificates m_certs;
    CertKey m_selfSigned, m_ca, m_server, m_client, m_rogue;
};

void tst_Tls::initTestCase()
{
    QVERIFY(m_certs.isValid());
    m_selfSigned = m_certs.selfSigned(QStringLiteral("selfsigned"));
    QVERIFY2(!m_selfSigned.isNull(), qPrintable(m_certs.error()));
    m_ca = m_certs.ca(QStringLiteral("ca"));
    QVERIFY2(!m_ca.isNull(), qPrintable(m_certs.error()));
    m_server = m_certs.leaf(QStringLiteral("server"), m_ca);
    QVERIFY2(!m_server.isNull(), qPrintable(m_certs.error()));
    m_client = m_certs.leaf(QStringLiteral("client"), m_ca, QStringLiteral("qws-client"));
    QVERIFY2(!m_client.isNull(), qPrintable(m_certs.error()));
    m_rogue = m_certs.selfSigned(QStringLiteral("rogue"), QStringLiteral("rogue-client"));
    QVERIFY2(!m_rogue.isNull(), qPrintable(m_certs.error()));
}

void tst_Tls::buildErrors_data()
{
    QTest::addColumn<QSslConfiguration>("config");
    QTest::addColumn<QString>("expected");

    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    QTest::newRow("no certificate") << c << "no certificate configured";
    c.setLocalCertificate(m_selfSigned.certificate);
    QTest::newRow("no key") << c << "no private key configured";
    c.setPrivateKey(m_certs.unrelatedKey(QStringLiteral("other")));
    QTest::newRow("mismatched key") << c << "private key does not match certificate";
    c.setPrivateKey(m_certs.unrelatedRsaKey(QStringLiteral("other-rsa")));
    QTest::newRow("key of another algorithm") << c << "private key does not match certificate";
    c.setPrivateKey(m_selfSigned.certificate.publicKey());
    QTest::newRow("public key") << c << "public key, not a private key";

    c = serverConfig(m_server);
    c.setLocalCertificateChain({m_server.certificate, QSslCertificate()});
    QTest::newRow("null chain certificate") << c << "certificate 1 of the local chain is null";
    c = serverConfig(m_selfSigned);
    QT_WARNING_PUSH
    QT_WARNING_DISABLE_DEPRECATED
    c.setProtocol(QSsl::TlsV1_1);
    QTest::newRow("TLS 1.1") << c << "TLS 1.1 is not supported";
    c.setProtocol(QSsl::TlsV1_0OrLater);
    QTest::newRow("TLS 1.0 or later") << c << "TLS 1.0 or later is not supported";
    QT_WARNING_POP
    c.setProtocol(QSsl::DtlsV1_2OrLater);
    QTest::newRow("DTLS") << c << "DTLS is not supported";
}

void tst_Tls::buildErrors()
{
    QFETCH(QSslConfiguration, config);
    QFETCH(QString, expected);
    TlsContext context;
    QString error;
    QVERIFY(!context.build(config, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY(!context.isValid());
}

void tst_Tls::failedBuildKeepsPreviousContext()
{
    TlsContext context;
    QString error;
    QVERIFY2(context.build(serverConfig(m_server), &error), qPrintable(error));
    QVERIFY(error.isEmpty());
    SSL_CTX *built = context.nativeHandle();
    QVERIFY(built);
    QVERIFY(!context.build(QSslConfiguration::defaultConfiguration(), &error));
    QCOMPARE(error, QStringLiteral("no certificate configured"));
    QCOMPARE(context.nativeHandle(), built);

    // The engine's hook: a shared context, or nullptr and the text.
    RecordingEvents events;
    QString text;
    QVERIFY(!makeTlsContext(QSslConfiguration::defaultConfiguration(), events, text));
    QCOMPARE(text, QStringLiteral("no certificate configured"));
    QVERIFY(makeTlsContext(serverConfig(m_server), events, text));
}

void tst_Tls::echoWithQSslSocket()
{
    TlsContext context;
    QSslConfiguration config = serverConfig(m_server);
    config.setLocalCertificateChain({m_server.certificate, m_ca.certificate});
    QVERIFY(context.build(config));
    EchoPeer peer(context);

    QByteArray payload(1024 * 1024 + 17, Qt::Uninitialized);
    for (qsizetype i = 0; i < payload.size(); ++i)
        payload[i] = char(QRandomGenerator::global()->generate());
    QtClient client(clientTrusting(m_ca.certificate));
    client.start(peer.port(), payload);
    QTRY_VERIFY2_WITH_TIMEOUT(client.echoed.size() >= payload.size() || !client.error.isEmpty(),
                              qPrintable(client.error), 20000);
    QVERIFY2(client.error.isEmpty(), qPrintable(client.error));
    QVERIFY(client.echoed == payload);
    QCOMPARE(client.socket.sessionProtocol(), QSsl::TlsV1_3);
    QCOMPARE(client.socket.peerCertificateChain().size(), 2);  // leaf + the chain we configured
    client.socket.disconnectFromHost();

    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    const PeerResult &r = peer.result();
    QCOMPARE(statusName(r.handshake), "Ok");
    QVERIFY(r.encrypted);
    QCOMPARE(r.protocol, QSsl::TlsV1_3);
    QVERIFY(r.received == payload);
    QCOMPARE(statusName(r.end), "Closed");
    QVERIFY(r.verifyErrors.isEmpty());
    QVERIFY(r.peerCertificate.isNull());
}

void tst_Tls::echoWithOpenSslClient()
{
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));
    const QByteArray line = "hello from s_client\n";
    EchoPeer peer(context, line.size());  // close_notify after the echo: s_client then exits
    const ProcessResult p = runProcess(QStringLiteral("openssl"),
        {"s_client", "-connect", QStringLiteral("127.0.0.1:%1").arg(peer.port()), "-servername", "localhost",
         "-CAfile", m_selfSigned.certPath, "-verify_return_error", "-quiet", "-alpn", "h2,http/1.1"},
        line);
    QVERIFY2(p.finished, p.err.constData());
    QCOMPARE(p.out, line);
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    const PeerResult &r = peer.result();
    QCOMPARE(statusName(r.handshake), "Ok");
    QCOMPARE(r.alpn, QByteArray("http/1.1"));  // our preference among what the client offered
    QCOMPARE(r.received, line);
}

void tst_Tls::alpnWithoutCommonProtocol()
{
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));
    EchoPeer peer(context, 3);
    const ProcessResult p = runProcess(QStringLiteral("openssl"),
        {"s_client", "-connect", QStringLiteral("127.0.0.1:%1").arg(peer.port()), "-quiet", "-alpn", "h2"}, "abc");
    QCOMPARE(p.out, QByteArray("abc"));
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Ok");
    QVERIFY(peer.result().alpn.isEmpty());
}

void tst_Tls::floorRefusesTls11()
{
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));  // default protocol: TlsV1_2OrLater
    EchoPeer peer(context);
    const ProcessResult p = runProcess(QStringLiteral("openssl"),
        {"s_client", "-connect", QStringLiteral("127.0.0.1:%1").arg(peer.port()), "-tls1_1", "-cipher",
         "DEFAULT@SECLEVEL=0"}, QByteArray(), false);
    QVERIFY(p.finished);
    QVERIFY(p.exitCode != 0);
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Failed");
    QVERIFY2(peer.result().handshakeError.contains(QLatin1String("unsupported protocol")),
             qPrintable(peer.result().handshakeError));
}

void tst_Tls::protocolRange()
{
    struct Case { QSsl::SslProtocol server, client; bool ok; QSsl::SslProtocol session; };
    const Case cases[] = {
        {QSsl::TlsV1_3OrLater, QSsl::TlsV1_2, false, QSsl::UnknownProtocol},
        {QSsl::TlsV1_2OrLater, QSsl::TlsV1_2, true, QSsl::TlsV1_2},
        {QSsl::SecureProtocols, QSsl::TlsV1_2OrLater, true, QSsl::TlsV1_3},
        {QSsl::TlsV1_2, QSsl::TlsV1_2OrLater, true, QSsl::TlsV1_2},
        {QSsl::TlsV1_3, QSsl::TlsV1_2, false, QSsl::UnknownProtocol},
    };
    for (const Case &c : cases) {
        TlsContext context;
        QSslConfiguration config = serverConfig(m_server);
        config.setProtocol(c.server);
        QVERIFY(context.build(config));
        EchoPeer peer(context);
        QSslConfiguration clientConfig = clientTrusting(m_ca.certificate);
        clientConfig.setProtocol(c.client);
        QtClient client(clientConfig);
        client.start(peer.port(), "x");
        QTRY_VERIFY_WITH_TIMEOUT(!client.echoed.isEmpty() || !client.error.isEmpty(), 20000);
        client.socket.abort();
        QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
        const PeerResult &r = peer.result();
        QCOMPARE(statusName(r.handshake), c.ok ? "Ok" : "Failed");
        QCOMPARE(r.protocol, c.session);
        if (!c.ok)
            QVERIFY2(r.handshakeError.contains(QLatin1String("unsupported protocol")), qPrintable(r.handshakeError));
    }
}

void tst_Tls::clientCertificate_data()
{
    QTest::addColumn<int>("mode");
    QTest::addColumn<QString>("clientCert");  // "", "trusted", "rogue"
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QList<QSslError::SslError>>("errors");
    QTest::addColumn<QString>("peerName");    // CN of the certificate the server saw

    using E = QList<QSslError::SslError>;
    QTest::newRow("VerifyPeer, trusted") << int(QSslSocket::VerifyPeer) << "trusted" << true << E{} << "qws-client";
    QTest::newRow("VerifyPeer, none") << int(QSslSocket::VerifyPeer) << "" << false
                                      << E{QSslError::NoPeerCertificate} << "";
    QTest::newRow("VerifyPeer, rogue") << int(QSslSocket::VerifyPeer) << "rogue" << false
                                       << E{QSslError::SelfSignedCertificate} << "";  // refused: no peer
    QTest::newRow("QueryPeer, rogue") << int(QSslSocket::QueryPeer) << "rogue" << true
                                      << E{QSslError::SelfSignedCertificate} << "rogue-client";
    QTest::newRow("QueryPeer, none") << int(QSslSocket::QueryPeer) << "" << true << E{} << "";
    QTest::newRow("QueryPeer, trusted") << int(QSslSocket::QueryPeer) << "trusted" << true << E{} << "qws-client";
    QTest::newRow("AutoVerifyPeer, trusted") << int(QSslSocket::AutoVerifyPeer) << "trusted" << true << E{} << "";
    QTest::newRow("VerifyNone, rogue") << int(QSslSocket::VerifyNone) << "rogue" << true << E{} << "";
}

void tst_Tls::clientCertificate()
{
    QFETCH(int, mode);
    QFETCH(QString, clientCert);
    QFETCH(bool, ok);
    QFETCH(QList<QSslError::SslError>, errors);
    QFETCH(QString, peerName);

    QSslConfiguration config = serverConfig(m_server);
    config.setPeerVerifyMode(QSslSocket::PeerVerifyMode(mode));
    config.setCaCertificates({m_ca.certificate});
    RecordingEvents events;
    QString buildError;
    auto context = makeTlsContext(config, events, buildError);
    QVERIFY2(context, qPrintable(buildError));
    EchoPeer peer(*context);

    QSslConfiguration clientConfig = clientTrusting(m_ca.certificate);
    const CertKey &presented = clientCert == QLatin1String("trusted") ? m_client : m_rogue;
    if (!clientCert.isEmpty()) {
        clientConfig.setLocalCertificate(presented.certificate);
        clientConfig.setPrivateKey(presented.key);
    }
    QtClient client(clientConfig);
    client.start(peer.port(), "ping");
    QTRY_VERIFY_WITH_TIMEOUT(client.echoed == "ping" || !client.error.isEmpty() || peer.finished(), 20000);
    client.socket.disconnectFromHost();
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);

    const PeerResult &r = peer.result();
    QCOMPARE(statusName(r.handshake), ok ? "Ok" : "Failed");
    if (ok)
        QCOMPARE(r.received, QByteArray("ping"));
    QList<QSslError::SslError> seen;
    for (const QSslError &e : r.verifyErrors)
        seen << e.error();
    QCOMPARE(seen, errors);
    if (errors.contains(QSslError::SelfSignedCertificate))
        QCOMPARE(r.verifyErrors.first().certificate(), m_rogue.certificate);
    if (errors.contains(QSslError::NoPeerCertificate))
        QVERIFY2(r.handshakeError.contains(QLatin1String("peer did not return a certificate")),
                 qPrintable(r.handshakeError));
    QCOMPARE(r.peerCertificate.subjectInfo(QSslCertificate::CommonName).value(0), peerName);

    // What the server would emit: peerVerifyError per error, then sslErrors once with the list.
    QCOMPARE(events.peerVerifyErrorsEmitted(), r.verifyErrors);
    QCOMPARE(events.sslErrorsEmitted(), errors.isEmpty() ? QList<QList<QSslError>>{}
                                                         : QList<QList<QSslError>>{r.verifyErrors});
}

void tst_Tls::garbage_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain HTTP") << QByteArray("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n")
                                << "http request";
    QByteArray binary;
    for (int i = 0; i < 64; ++i)
        binary += char(i);
    QTest::newRow("binary") << binary << "wrong version number";
    QTest::newRow("oversized record") << QByteArray("\x16\x03\x01\xff\xff", 5) + QByteArray(300, 'x')
                                      << "packet length too long";
    QTest::newRow("truncated hello") << QByteArray("\x16\x03\x01\x00\x40\x01\x00\x00", 8)
                                     << "the peer closed the connection";
}

void tst_Tls::garbage()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));
    EchoPeer peer(context);
    const int fd = connectLoopback(peer.port());
    QVERIFY(fd >= 0);
    QCOMPARE(::send(fd, bytes.constData(), size_t(bytes.size()), MSG_NOSIGNAL), ssize_t(bytes.size()));
    ::shutdown(fd, SHUT_WR);
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    ::close(fd);
    QCOMPARE(statusName(peer.result().handshake), "Failed");
    QVERIFY(!peer.result().encrypted);
    QVERIFY2(peer.result().handshakeError.contains(expected), qPrintable(peer.result().handshakeError));
}

void tst_Tls::peerResetMidHandshake()
{
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));
    EchoPeer peer(context);
    const int fd = connectLoopback(peer.port());
    QVERIFY(fd >= 0);
    ::send(fd, "\x16\x03\x01\x00\x40\x01\x00", 7, MSG_NOSIGNAL);  // a ClientHello that never ends
    QTest::qWait(200);                                            // the server now waits for more
    const linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);  // RST
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Failed");
    QVERIFY2(peer.result().handshakeError.contains(QLatin1String("reset")), qPrintable(peer.result().handshakeError));
}

void tst_Tls::peerClosesMidHandshake()
{
    TlsContext context;
    QVERIFY(context.build(serverConfig(m_selfSigned)));
    EchoPeer peer(context);
    const int fd = connectLoopback(peer.port());
    QVERIFY(fd >= 0);
    QTest::qWait(100);
    ::close(fd);  // FIN before a single byte
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Failed");
    QVERIFY2(peer.result().handshakeError.contains(QLatin1String("the peer closed the connection")),
             qPrintable(peer.result().handshakeError));
}

void tst_Tls::preSharedKey()
{
    const QList<QSslCipher> ciphers = pskCiphers();
    QVERIFY(!ciphers.isEmpty());
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();  // no certificate: PSK only
    config.setCiphers(ciphers);
    config.setPreSharedKeyIdentityHint("qws-hint");
    RecordingEvents events;
    QByteArray identitySeen;
    events.pskHandler = [&](QSslPreSharedKeyAuthenticator *a) {
        identitySeen = a->identity();
        if (a->identity() == "qws-client")
            a->setPreSharedKey(QByteArray::fromHex("00112233445566778899aabbccddeeff"));
    };
    QString error;
    auto context = makeTlsContext(config, events, error);
    QVERIFY2(context, qPrintable(error));
    EchoPeer peer(*context);

    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setProtocol(QSsl::TlsV1_2);
    clientConfig.setCiphers(ciphers);
    clientConfig.setPeerVerifyMode(QSslSocket::VerifyNone);
    QtClient client(clientConfig);
    QByteArray hintSeen;
    connect(&client.socket, &QSslSocket::preSharedKeyAuthenticationRequired, this,
            [&](QSslPreSharedKeyAuthenticator *a) {
                hintSeen = a->identityHint();
                a->setIdentity("qws-client");
                a->setPreSharedKey(QByteArray::fromHex("00112233445566778899aabbccddeeff"));
            });
    client.start(peer.port(), "psk payload");
    QTRY_VERIFY2_WITH_TIMEOUT(client.echoed == "psk payload" || !client.error.isEmpty(), qPrintable(client.error), 20000);
    QCOMPARE(client.echoed, QByteArray("psk payload"));
    QCOMPARE(hintSeen, QByteArray("qws-hint"));
    client.socket.disconnectFromHost();
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Ok");
    QCOMPARE(peer.result().pskIdentity, QByteArray("qws-client"));
    QCOMPARE(identitySeen, QByteArray("qws-client"));
    QVERIFY2(peer.result().cipher.startsWith(QLatin1String("PSK-")), qPrintable(peer.result().cipher));
}

void tst_Tls::preSharedKeyRefused()
{
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setCiphers(pskCiphers());
    RecordingEvents events;  // the handler gives a different key
    events.pskHandler = [](QSslPreSharedKeyAuthenticator *a) { a->setPreSharedKey("not the same key"); };
    QString error;
    auto context = makeTlsContext(config, events, error);
    QVERIFY2(context, qPrintable(error));
    EchoPeer peer(*context);

    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setProtocol(QSsl::TlsV1_2);
    clientConfig.setCiphers(pskCiphers());
    clientConfig.setPeerVerifyMode(QSslSocket::VerifyNone);
    QtClient client(clientConfig);
    connect(&client.socket, &QSslSocket::preSharedKeyAuthenticationRequired, this,
            [](QSslPreSharedKeyAuthenticator *a) { a->setIdentity("qws-client"); a->setPreSharedKey("secret"); });
    client.start(peer.port(), "x");
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), "Failed");
    QVERIFY(!peer.result().handshakeError.isEmpty());
    QVERIFY(client.echoed.isEmpty());
}

QTEST_MAIN(tst_Tls)
#include "tst_tls.moc"
