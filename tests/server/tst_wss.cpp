// SPDX-License-Identifier: BSD-3-Clause
// wss:// end to end: qws::WebSocketServer in SecureMode against QWebSocket, python3-websockets and node-ws,
// with certificates generated at test time (openssl CLI, and the engine's self-signed generator).
#include "certs.h"

#include <server/selfsigned_p.h>
#include <server/websocket.h>
#include <server/websocketserver.h>

#include <QtCore/QProcess>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>
#include <QtTest/QtTest>
#include <QtWebSockets/QWebSocket>

using namespace qws;
using namespace qws::test;

namespace {

const char kPython[] = R"(
import asyncio, ssl, sys, websockets
async def main(url, cafile, cert, key):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    async with websockets.connect(url, ssl=ctx) as ws:
        await ws.send("hello from python")
        assert await ws.recv() == "hello from python"
        blob = bytes(range(256)) * 1024
        await ws.send(blob)
        assert await ws.recv() == blob
        print("ok", ws.transport.get_extra_info("ssl_object").version())
asyncio.run(main(*sys.argv[1:]))
)";

const char kNode[] = R"(
const fs = require('fs'); const WebSocket = require('ws');
const [url, ca] = process.argv.slice(1);
const ws = new WebSocket(url, { ca: fs.readFileSync(ca) });
let step = 0;
ws.on('open', () => ws.send('hello from node'));
ws.on('message', (data, isBinary) => {
  if (step++ === 0) {
    if (data.toString() !== 'hello from node') process.exit(2);
    ws.send(Buffer.alloc(100000, 7));
  } else {
    if (!isBinary || data.length !== 100000 || data[99999] !== 7) process.exit(3);
    console.log('ok', ws._socket.getProtocol());
    ws.close(1000);
  }
});
ws.on('close', (code) => process.exit(code === 1000 ? 0 : 4));
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
)";

/// Runs a client process while the event loop keeps turning (the server lives on this thread).
struct Run {
    int exitCode = -1;
    QByteArray out, err;
};
Run runClient(const QString &program, const QStringList &args, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(program, args);
    Run r;
    if (!process.waitForStarted(10000))
        return r;
    QElapsedTimer timer;
    timer.start();
    while (process.state() != QProcess::NotRunning && timer.elapsed() < 30000)
        QTest::qWait(10);
    if (process.state() != QProcess::NotRunning) {
        process.kill();
        process.waitForFinished();
    }
    r.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    r.out = process.readAllStandardOutput();
    r.err = process.readAllStandardError();
    return r;
}

/// Every connection echoes text and binary messages.
void echo(WebSocketServer &server)
{
    QObject::connect(&server, &WebSocketServer::newConnection, &server, [&server] {
        while (WebSocket *s = server.nextPendingConnection()) {
            s->setParent(&server);
            QObject::connect(s, &WebSocket::textMessageReceived, s, [s](const QString &m) { s->sendTextMessage(m); });
            QObject::connect(s, &WebSocket::binaryMessageReceived, s, [s](const QByteArray &m) { s->sendBinaryMessage(m); });
            QObject::connect(s, &WebSocket::disconnected, s, &QObject::deleteLater);
        }
    });
}

} // namespace

class tst_Wss : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void listenRefusesBadTlsMaterial();
    void qwebsocket();
    void pythonWebsockets();
    void nodeWs();
    void clientCertificates();
    void generatedCertificatePinned();
    void plainClientDoesNotHurt();
    void preSharedKeyThroughTheSignal();

private:
    bool start(WebSocketServer &server, const QSslConfiguration &config)
    {
        server.setSslConfiguration(config);
        echo(server);
        return server.listen(QHostAddress::LocalHost, 0);
    }
    QSslConfiguration serverConfig() const
    {
        QSslConfiguration c = QSslConfiguration::defaultConfiguration();
        c.setLocalCertificateChain({m_server.certificate, m_ca.certificate});
        c.setPrivateKey(m_server.key);
        return c;
    }
    QString url(const WebSocketServer &server) const
    {
        return QStringLiteral("wss://localhost:%1/").arg(server.serverPort());
    }

    TestCertificates m_certs;
    CertKey m_ca, m_server, m_client;
};

void tst_Wss::initTestCase()
{
    m_ca = m_certs.ca(QStringLiteral("ca"));
    m_server = m_certs.leaf(QStringLiteral("server"), m_ca);
    m_client = m_certs.leaf(QStringLiteral("client"), m_ca, QStringLiteral("wss-client"));
    QVERIFY2(!m_ca.isNull() && !m_server.isNull() && !m_client.isNull(), qPrintable(m_certs.error()));
}

void tst_Wss::listenRefusesBadTlsMaterial()
{
    WebSocketServer missing(QStringLiteral("t"), WebSocketServer::SecureMode);
    QVERIFY(!missing.listen(QHostAddress::LocalHost, 0));
    QVERIFY2(missing.errorString().contains(QLatin1String("no certificate configured")), qPrintable(missing.errorString()));

    WebSocketServer mismatched(QStringLiteral("t"), WebSocketServer::SecureMode);
    QSslConfiguration c = serverConfig();
    c.setPrivateKey(m_client.key);
    mismatched.setSslConfiguration(c);
    QVERIFY(!mismatched.listen(QHostAddress::LocalHost, 0));
    QVERIFY2(mismatched.errorString().contains(QLatin1String("private key does not match certificate")),
             qPrintable(mismatched.errorString()));
}

void tst_Wss::qwebsocket()
{
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QVERIFY2(start(server, serverConfig()), qPrintable(server.errorString()));
    QCOMPARE(server.serverUrl().scheme(), QStringLiteral("wss"));

    QWebSocket client;
    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setCaCertificates({m_ca.certificate});
    client.setSslConfiguration(clientConfig);
    QStringList texts;
    QByteArray binary;
    connect(&client, &QWebSocket::textMessageReceived, this, [&](const QString &m) { texts << m; });
    connect(&client, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &m) { binary = m; });
    client.open(QUrl(url(server)));
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 20000);
    client.sendTextMessage(QStringLiteral("hello wss"));
    const QByteArray blob(300 * 1024, 'q');
    client.sendBinaryMessage(blob);
    QTRY_COMPARE_WITH_TIMEOUT(texts, QStringList{QStringLiteral("hello wss")}, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(binary == blob, 20000);
    QCOMPARE(client.sslConfiguration().sessionProtocol(), QSsl::TlsV1_3);
    client.close();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 20000);
}

void tst_Wss::pythonWebsockets()
{
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QVERIFY2(start(server, serverConfig()), qPrintable(server.errorString()));
    const Run r = runClient(QStringLiteral("/usr/bin/python3"), {"-c", kPython, url(server), m_ca.certPath, "", ""});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.out.trimmed(), QByteArray("ok TLSv1.3"));
}

void tst_Wss::nodeWs()
{
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QVERIFY2(start(server, serverConfig()), qPrintable(server.errorString()));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("NODE_PATH"), QStringLiteral("/usr/share/nodejs"));
    const Run r = runClient(QStringLiteral("node"), {"-e", kNode, url(server), m_ca.certPath}, env);
    QVERIFY2(r.exitCode == 0, (r.out + r.err).constData());
    QCOMPARE(r.out.trimmed(), QByteArray("ok TLSv1.3"));
}

void tst_Wss::clientCertificates()
{
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QSslConfiguration config = serverConfig();
    config.setPeerVerifyMode(QSslSocket::VerifyPeer);
    config.setCaCertificates({m_ca.certificate});
    QVERIFY2(start(server, config), qPrintable(server.errorString()));
    QSignalSpy sslErrors(&server, &WebSocketServer::sslErrors);
    QSignalSpy peerVerifyErrors(&server, &WebSocketServer::peerVerifyError);

    Run r = runClient(QStringLiteral("/usr/bin/python3"),
                      {"-c", kPython, url(server), m_ca.certPath, m_client.certPath, m_client.keyPath});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QTest::qWait(100);
    QCOMPARE(sslErrors.size(), 0);

    r = runClient(QStringLiteral("/usr/bin/python3"), {"-c", kPython, url(server), m_ca.certPath, "", ""});
    QVERIFY(r.exitCode != 0);  // refused without a certificate
    QTRY_COMPARE_WITH_TIMEOUT(sslErrors.size(), 1, 10000);
    const auto errors = sslErrors.at(0).at(0).value<QList<QSslError>>();
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.first().error(), QSslError::NoPeerCertificate);
    QTRY_COMPARE_WITH_TIMEOUT(peerVerifyErrors.size(), 1, 10000);
    QCOMPARE(peerVerifyErrors.at(0).at(0).value<QSslError>().error(), QSslError::NoPeerCertificate);
}

void tst_Wss::generatedCertificatePinned()
{
    QString error;
    const SelfSignedCertificate generated = generateSelfSignedCertificate({}, &error);
    QVERIFY2(!generated.isNull(), qPrintable(error));
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(generated.certificate);
    config.setPrivateKey(generated.privateKey);
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QVERIFY2(start(server, config), qPrintable(server.errorString()));

    QWebSocket client;
    client.ignoreSslErrors({QSslError(QSslError::SelfSignedCertificate, generated.certificate)});
    QString echoed;
    connect(&client, &QWebSocket::textMessageReceived, this, [&](const QString &m) { echoed = m; });
    client.open(QUrl(url(server)));
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 20000);
    QCOMPARE(sha256Fingerprint(client.sslConfiguration().peerCertificate()), generated.fingerprint);
    client.sendTextMessage(QStringLiteral("pinned"));
    QTRY_COMPARE_WITH_TIMEOUT(echoed, QStringLiteral("pinned"), 20000);
}

void tst_Wss::plainClientDoesNotHurt()
{
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QVERIFY2(start(server, serverConfig()), qPrintable(server.errorString()));
    QWebSocket plain;  // ws:// to a wss:// port: the TLS layer sees an HTTP request
    plain.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server.serverPort())));
    QCOMPARE(server.tlsHandshakeFailureCount(), quint64(0));
    QTRY_COMPARE_WITH_TIMEOUT(plain.state(), QAbstractSocket::UnconnectedState, 20000);
    QVERIFY(server.isListening());
    QTRY_COMPARE(server.tlsHandshakeFailureCount(), quint64(1));  // counted, not crashed

    const Run r = runClient(QStringLiteral("/usr/bin/python3"), {"-c", kPython, url(server), m_ca.certPath, "", ""});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

void tst_Wss::preSharedKeyThroughTheSignal()
{
    QList<QSslCipher> psk;
    for (const QSslCipher &c : QSslConfiguration::supportedCiphers())
        if (c.name().startsWith(QLatin1String("PSK-")))
            psk << c;
    QVERIFY(!psk.isEmpty());
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setCiphers(psk);
    config.setPreSharedKeyIdentityHint("wss-hint");
    WebSocketServer server(QStringLiteral("qws-test"), WebSocketServer::SecureMode);
    QByteArray identity;
    connect(&server, &WebSocketServer::preSharedKeyAuthenticationRequired, this,
            [&](QSslPreSharedKeyAuthenticator *a) {
                identity = a->identity();  // direct: runs on the engine thread during the handshake
                a->setPreSharedKey("0123456789abcdef");
            }, Qt::DirectConnection);
    QVERIFY2(start(server, config), qPrintable(server.errorString()));

    QWebSocket client;
    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setProtocol(QSsl::TlsV1_2);
    clientConfig.setCiphers(psk);
    clientConfig.setPeerVerifyMode(QSslSocket::VerifyNone);
    client.setSslConfiguration(clientConfig);
    connect(&client, &QWebSocket::preSharedKeyAuthenticationRequired, this, [](QSslPreSharedKeyAuthenticator *a) {
        a->setIdentity("wss-client");
        a->setPreSharedKey("0123456789abcdef");
    });
    QString echoed;
    connect(&client, &QWebSocket::textMessageReceived, this, [&](const QString &m) { echoed = m; });
    client.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(server.serverPort())));
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 20000);
    client.sendTextMessage(QStringLiteral("psk"));
    QTRY_COMPARE_WITH_TIMEOUT(echoed, QStringLiteral("psk"), 20000);
    QCOMPARE(identity, QByteArray("wss-client"));
}

QTEST_MAIN(tst_Wss)
#include "tst_wss.moc"
