// SPDX-License-Identifier: BSD-3-Clause
// Test-only helpers for the QML tests (see testclient.h).
#include "testclient.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QThread>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>
#include <QtNetwork/QTcpServer>
#include <QtWebSockets/QWebSocketHandshakeOptions>

#include <sys/resource.h>
#include <unistd.h>

static QString fingerprintOf(const QSslCertificate &certificate)
{
    return QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex(':')).toUpper();
}

TestClient::TestClient(QObject *parent) : QObject(parent) { }

void TestClient::open()
{
    m_socket = std::make_unique<QWebSocket>(m_origin);
    QWebSocket *s = m_socket.get();
    connect(s, &QWebSocket::connected, this, [this, s] {
        m_connected = true;
        m_subprotocol = s->subprotocol();
        m_peerFingerprint = fingerprintOf(s->sslConfiguration().peerCertificate());
        Q_EMIT changed();
    });
    connect(s, &QWebSocket::disconnected, this, [this, s] {
        m_connected = false;
        m_finished = true;
        m_closeCode = int(s->closeCode());
        m_closeReason = s->closeReason();
        Q_EMIT changed();
    });
    connect(s, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this, [this, s] {
        m_errorString = s->errorString();
        Q_EMIT changed();
    });
    connect(s, &QWebSocket::sslErrors, this, [this, s](const QList<QSslError> &errors) {
        const QSslCertificate peer = errors.isEmpty() ? QSslCertificate() : errors.first().certificate();
        m_peerFingerprint = fingerprintOf(peer.isNull() ? s->sslConfiguration().peerCertificate() : peer);
        if (!m_pinned.isEmpty() && m_peerFingerprint == m_pinned)
            s->ignoreSslErrors(errors);
        Q_EMIT changed();
    });
    connect(s, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        m_received.append(text);
        Q_EMIT changed();
    });
    connect(s, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &data) {
        ++m_binaryCount;
        m_lastBinary = data;
        Q_EMIT changed();
    });
    connect(s, &QWebSocket::pong, this, [this] {
        ++m_pongCount;
        Q_EMIT changed();
    });
    if (!m_clientCertificate.isEmpty()) {
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        QFile cert(m_clientCertificate), key(m_clientKey);
        if (cert.open(QIODevice::ReadOnly) && key.open(QIODevice::ReadOnly)) {
            configuration.setLocalCertificateChain(QSslCertificate::fromData(cert.readAll(), QSsl::Pem));
            configuration.setPrivateKey(QSslKey(key.readAll(), QSsl::Ec, QSsl::Pem));
        }
        s->setSslConfiguration(configuration);
    }
    if (!m_pskIdentity.isEmpty()) {
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        QList<QSslCipher> psk;
        for (const QSslCipher &cipher : QSslConfiguration::supportedCiphers()) {
            if (cipher.name().startsWith(QLatin1String("PSK-")))
                psk.append(cipher);
        }
        configuration.setCiphers(psk);
        configuration.setProtocol(QSsl::TlsV1_2);
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone); // PSK: no certificate to verify
        s->setSslConfiguration(configuration);
        connect(s, &QWebSocket::preSharedKeyAuthenticationRequired, this,
                [this](QSslPreSharedKeyAuthenticator *authenticator) {
            m_pskIdentityHint = QString::fromUtf8(authenticator->identityHint());
            authenticator->setIdentity(m_pskIdentity.toUtf8());
            authenticator->setPreSharedKey(m_pskKey.toUtf8());
        });
    }
    QWebSocketHandshakeOptions options;
    options.setSubprotocols(m_subprotocols);
    s->open(QNetworkRequest(m_url), options);
}

void TestClient::sendText(const QString &text)
{
    if (m_socket)
        m_socket->sendTextMessage(text);
}

void TestClient::sendBinary(const QByteArray &data)
{
    if (m_socket)
        m_socket->sendBinaryMessage(data);
}

void TestClient::ping()
{
    if (m_socket)
        m_socket->ping("test");
}

void TestClient::close(int code, const QString &reason)
{
    if (m_socket)
        m_socket->close(QWebSocketProtocol::CloseCode(code), reason);
}

void TestClient::abort()
{
    if (m_socket)
        m_socket->abort();
}

QVariantMap TestHelper::makeCertificate(const QString &commonName)
{
    const QString base = m_dir.filePath(QStringLiteral("cert%1").arg(++m_serial));
    const QString cert = base + QStringLiteral(".pem");
    const QString key = base + QStringLiteral(".key");
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                   QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                   QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                   QStringLiteral("/CN=") + commonName, QStringLiteral("-addext"),
                   QStringLiteral("subjectAltName=DNS:") + commonName, QStringLiteral("-keyout"), key,
                   QStringLiteral("-out"), cert});
    if (!openssl.waitForFinished(30000) || openssl.exitCode() != 0)
        return {};
    QFile file(cert);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QList<QSslCertificate> chain = QSslCertificate::fromData(file.readAll(), QSsl::Pem);
    if (chain.isEmpty())
        return {};
    return {{QStringLiteral("certificate"), cert},
            {QStringLiteral("privateKey"), key},
            {QStringLiteral("fingerprint"), fingerprintOf(chain.first())}};
}

QString TestHelper::writeFile(const QString &name, const QString &text)
{
    const QString path = m_dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(text.toUtf8());
    return path;
}

int TestHelper::occupiedPort()
{
    auto *server = new QTcpServer(this);
    if (!server->listen(QHostAddress::Any, 0))
        return -1;
    return server->serverPort();
}

TestHelper::~TestHelper()
{
    restoreOpenFiles();
    for (QProcess *p : findChildren<QProcess *>()) {
        p->kill();
        p->waitForFinished(5000);
    }
}

bool TestHelper::startProcess(const QString &program, const QStringList &arguments)
{
    auto *process = new QProcess(this);
    process->setProcessChannelMode(QProcess::ForwardedChannels);
    process->start(program, arguments);
    return process->waitForStarted(10000);
}

bool TestHelper::blockGuiThreadUntilFile(const QString &path, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!QFile::exists(path)) {
        if (deadline.hasExpired())
            return false;
        QThread::msleep(20);
    }
    return true;
}

bool TestHelper::exhaustOpenFiles()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return false;
    int highest = 0;
    const QStringList fds = QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System);
    for (const QString &fd : fds)
        highest = qMax(highest, fd.toInt());
    if (m_savedFileLimit == 0)
        m_savedFileLimit = limit.rlim_cur;
    limit.rlim_cur = rlim_t(highest + 1);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
        return false;
    for (;;) { // the kernel hands out the lowest free number: take them all
        const int fd = ::dup(0);
        if (fd < 0)
            break;
        m_fillers.append(fd);
    }
    return true;
}

void TestHelper::restoreOpenFiles()
{
    for (int fd : std::as_const(m_fillers))
        ::close(fd);
    m_fillers.clear();
    rlimit limit{};
    if (m_savedFileLimit == 0 || ::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    limit.rlim_cur = rlim_t(m_savedFileLimit);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    m_savedFileLimit = 0;
}
