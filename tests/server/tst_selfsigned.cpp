// SPDX-License-Identifier: BSD-3-Clause
// qws::generateSelfSignedCertificate(): what the certificate says, that its key matches, its fingerprint,
// and that real clients (QSslSocket pinned on it, Python's ssl trusting it) accept it for localhost.
#include "certs.h"
#include "tlsclients.h"
#include "tlsharness.h"

#include <server/selfsigned_p.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>

using namespace qws;
using namespace qws::test;

namespace {

const char kPythonClient[] = R"(
import socket, ssl, sys
port, cafile, host = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        s.sendall(b"python")
        data = b""
        while len(data) < 6:
            chunk = s.recv(6 - len(data))
            if not chunk:
                break
            data += chunk
        print(data.decode(), s.version())
)";

} // namespace

class tst_SelfSigned : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void fastEnough();
    void subjectAndNames();
    void validityAndExtensions();
    void fingerprint();
    void keyMatches();
    void eachCallIsNew();
    void rsa();
    void badOptions();
    void qtClientPinnedOnIt();
    void pythonTrustsItForLocalhost_data();
    void pythonTrustsItForLocalhost();

private:
    QString writeCert(const QString &name, const QSslCertificate &certificate)
    {
        const QString file = m_certs.path(name);
        QFile f(file);
        return f.open(QIODevice::WriteOnly) && f.write(certificate.toPem()) > 0 ? file : QString();
    }

    TestCertificates m_certs;
    SelfSignedCertificate m_generated;
};

void tst_SelfSigned::initTestCase()
{
    QString error;
    m_generated = generateSelfSignedCertificate({}, &error);
    QVERIFY2(!m_generated.isNull(), qPrintable(error));
    QVERIFY(error.isEmpty());
}

void tst_SelfSigned::fastEnough()
{
    for (int i = 0; i < 5; ++i) {
        QElapsedTimer timer;
        timer.start();
        const SelfSignedCertificate c = generateSelfSignedCertificate();
        const qint64 ms = timer.elapsed();
        QVERIFY(!c.isNull());
        QVERIFY2(ms < 50, qPrintable(QStringLiteral("%1 ms").arg(ms)));
    }
}

void tst_SelfSigned::subjectAndNames()
{
    const QSslCertificate &c = m_generated.certificate;
    QCOMPARE(c.subjectInfo(QSslCertificate::CommonName), QStringList{QStringLiteral("localhost")});
    QCOMPARE(c.issuerInfo(QSslCertificate::CommonName), QStringList{QStringLiteral("localhost")});
    QCOMPARE(c.subjectInfo(QSslCertificate::Organization), QStringList{QStringLiteral("QuickWebSockets")});
    QVERIFY(c.isSelfSigned());
    QCOMPARE(c.version(), QByteArray("3"));
    const auto names = c.subjectAlternativeNames();
    QCOMPARE(names.values(QSsl::DnsEntry), QStringList{QStringLiteral("localhost")});
    QList<QHostAddress> ips;
    for (const QString &ip : names.values(QSsl::IpAddressEntry))
        ips << QHostAddress(ip);
    QCOMPARE(ips.size(), 2);
    QVERIFY(ips.contains(QHostAddress(QHostAddress::LocalHost)));
    QVERIFY(ips.contains(QHostAddress(QHostAddress::LocalHostIPv6)));
}

void tst_SelfSigned::validityAndExtensions()
{
    const QSslCertificate &c = m_generated.certificate;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QVERIFY(c.effectiveDate() <= now);
    QVERIFY(c.effectiveDate() > now.addSecs(-2 * 3600));
    const qint64 days = now.daysTo(c.expiryDate());
    QVERIFY2(days >= 364 && days <= 365, qPrintable(QString::number(days)));

    const QString file = writeCert(QStringLiteral("generated.pem"), c);
    QVERIFY(!file.isEmpty());
    const ProcessResult p = runProcess(QStringLiteral("openssl"), {"x509", "-in", file, "-noout", "-text"}, {}, false);
    QVERIFY2(p.finished && p.exitCode == 0, p.err.constData());
    const QString text = QString::fromLatin1(p.out);
    QVERIFY2(text.contains(QLatin1String("Signature Algorithm: ecdsa-with-SHA256")), qPrintable(text));
    QVERIFY(text.contains(QLatin1String("ASN1 OID: prime256v1")));
    QVERIFY(text.contains(QLatin1String("CA:FALSE")));
    QVERIFY(text.contains(QLatin1String("TLS Web Server Authentication")));
    QVERIFY(text.contains(QLatin1String("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")));
    QVERIFY(text.contains(QLatin1String("X509v3 Subject Key Identifier")));
}

void tst_SelfSigned::fingerprint()
{
    const QString &f = m_generated.fingerprint;
    QVERIFY2(QRegularExpression(QStringLiteral("^([0-9A-F]{2}:){31}[0-9A-F]{2}$")).match(f).hasMatch(), qPrintable(f));
    QCOMPARE(f, QString::fromLatin1(m_generated.certificate.digest(QCryptographicHash::Sha256).toHex(':').toUpper()));
    QCOMPARE(sha256Fingerprint(m_generated.certificate), f);
    QVERIFY(sha256Fingerprint(QSslCertificate()).isEmpty());

    // The same text OpenSSL prints.
    const QString file = writeCert(QStringLiteral("fingerprint.pem"), m_generated.certificate);
    const ProcessResult p = runProcess(QStringLiteral("openssl"),
                                       {"x509", "-in", file, "-noout", "-fingerprint", "-sha256"}, {}, false);
    QVERIFY2(p.finished && p.exitCode == 0, p.err.constData());
    QCOMPARE(QString::fromLatin1(p.out).trimmed().section(QLatin1Char('='), 1), f);
}

void tst_SelfSigned::keyMatches()
{
    QCOMPARE(m_generated.privateKey.type(), QSsl::PrivateKey);
    QCOMPARE(m_generated.privateKey.algorithm(), QSsl::Ec);
    QCOMPARE(m_generated.privateKey.length(), 256);
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(m_generated.certificate);
    config.setPrivateKey(m_generated.privateKey);
    TlsContext context;
    QString error;
    QVERIFY2(context.build(config, &error), qPrintable(error));  // SSL_CTX_check_private_key passed
    config.setPrivateKey(generateSelfSignedCertificate().privateKey);  // another pair's key
    QVERIFY(!context.build(config, &error));
    QVERIFY2(error.contains(QLatin1String("private key does not match certificate")), qPrintable(error));
}

void tst_SelfSigned::eachCallIsNew()
{
    const SelfSignedCertificate other = generateSelfSignedCertificate();
    QVERIFY(other.certificate != m_generated.certificate);
    QVERIFY(other.certificate.serialNumber() != m_generated.certificate.serialNumber());
    QVERIFY(other.privateKey != m_generated.privateKey);
    QVERIFY(other.fingerprint != m_generated.fingerprint);
}

void tst_SelfSigned::rsa()
{
    SelfSignedOptions options;
    options.keyType = SelfSignedOptions::KeyType::Rsa2048;
    options.commonName = QStringLiteral("rsa.example");
    options.dnsNames = {QStringLiteral("rsa.example"), QStringLiteral("localhost")};
    options.ipAddresses = {};
    options.validityDays = 30;
    QString error;
    const SelfSignedCertificate c = generateSelfSignedCertificate(options, &error);
    QVERIFY2(!c.isNull(), qPrintable(error));
    QCOMPARE(c.privateKey.algorithm(), QSsl::Rsa);
    QCOMPARE(c.privateKey.length(), 2048);
    QCOMPARE(c.certificate.subjectInfo(QSslCertificate::CommonName).value(0), QStringLiteral("rsa.example"));
    QCOMPARE(c.certificate.subjectAlternativeNames().values(QSsl::DnsEntry).size(), 2);
    QVERIFY(c.certificate.subjectAlternativeNames().values(QSsl::IpAddressEntry).isEmpty());
    const qint64 days = QDateTime::currentDateTimeUtc().daysTo(c.certificate.expiryDate());
    QVERIFY(days >= 29 && days <= 30);
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(c.certificate);
    config.setPrivateKey(c.privateKey);
    TlsContext context;
    QVERIFY2(context.build(config, &error), qPrintable(error));
}

void tst_SelfSigned::badOptions()
{
    SelfSignedOptions options;
    options.commonName.clear();
    QString error;
    QVERIFY(generateSelfSignedCertificate(options, &error).isNull());
    QVERIFY2(error.contains(QLatin1String("empty common name")), qPrintable(error));
    options = {};
    options.dnsNames = {QStringLiteral("a,b")};
    QVERIFY(generateSelfSignedCertificate(options, &error).isNull());
    QVERIFY2(error.contains(QLatin1String("invalid DNS name")), qPrintable(error));
    options = {};
    options.validityDays = 0;
    QVERIFY(generateSelfSignedCertificate(options, &error).isNull());
    QVERIFY2(error.contains(QLatin1String("validity")), qPrintable(error));
}

void tst_SelfSigned::qtClientPinnedOnIt()
{
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(m_generated.certificate);
    config.setPrivateKey(m_generated.privateKey);
    TlsContext context;
    QVERIFY(context.build(config));

    for (bool pinnedOnThisOne : {true, false}) {
        EchoPeer peer(context);
        QtClient client(QSslConfiguration::defaultConfiguration());  // system CAs only
        const QSslCertificate expected =
            pinnedOnThisOne ? m_generated.certificate : generateSelfSignedCertificate().certificate;
        client.socket.ignoreSslErrors({QSslError(QSslError::SelfSignedCertificate, expected)});
        client.start(peer.port(), "pinned");
        QTRY_VERIFY_WITH_TIMEOUT(client.echoed == "pinned" || !client.error.isEmpty(), 20000);
        if (pinnedOnThisOne) {
            QVERIFY2(client.error.isEmpty(), qPrintable(client.error));
            QCOMPARE(sha256Fingerprint(client.socket.peerCertificate()), m_generated.fingerprint);
        } else {
            QVERIFY(client.echoed.isEmpty());
            QVERIFY2(client.sslErrors.join(u' ').contains(QLatin1String("self signed"), Qt::CaseInsensitive)
                         || client.sslErrors.join(u' ').contains(QLatin1String("self-signed"), Qt::CaseInsensitive),
                     qPrintable(client.error));
        }
        client.socket.abort();
        QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    }
}

void tst_SelfSigned::pythonTrustsItForLocalhost_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("ok");
    QTest::newRow("localhost") << "localhost" << true;
    QTest::newRow("127.0.0.1") << "127.0.0.1" << true;
    QTest::newRow("::1") << "::1" << true;  // checked against the IP SAN, connected over 127.0.0.1
    QTest::newRow("example.com") << "example.com" << false;
}

void tst_SelfSigned::pythonTrustsItForLocalhost()
{
    QFETCH(QString, host);
    QFETCH(bool, ok);
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(m_generated.certificate);
    config.setPrivateKey(m_generated.privateKey);
    TlsContext context;
    QVERIFY(context.build(config));
    EchoPeer peer(context);
    const QString ca = writeCert(QStringLiteral("trusted.pem"), m_generated.certificate);
    const ProcessResult p = runProcess(QStringLiteral("/usr/bin/python3"),
        {"-c", kPythonClient, QString::number(peer.port()), ca, host}, {}, false);
    QVERIFY2(p.finished, p.err.constData());
    if (ok) {
        QVERIFY2(p.exitCode == 0, p.err.constData());
        QCOMPARE(p.out.trimmed(), QByteArray("python TLSv1.3"));
    } else {
        QVERIFY(p.exitCode != 0);
        QVERIFY2(p.err.contains("CERTIFICATE_VERIFY_FAILED"), p.err.constData());
    }
    QTRY_VERIFY_WITH_TIMEOUT(peer.finished(), 20000);
    QCOMPARE(statusName(peer.result().handshake), ok ? "Ok" : "Failed");
}

QTEST_MAIN(tst_SelfSigned)
#include "tst_selfsigned.moc"
