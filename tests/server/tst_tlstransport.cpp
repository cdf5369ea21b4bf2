// SPDX-License-Identifier: BSD-3-Clause
// qws::TlsTransport's stream semantics (partial and gathered writes, retries, buffered input, shutdown,
// EOF) against an OpenSSL client running blocking on the other end of a socketpair.
#include "certs.h"
#include "tlsharness.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QtTest>

#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <openssl/ssl.h>

using namespace qws;
using namespace qws::test;
using Clock = std::chrono::steady_clock;

namespace {

/// The client end: blocking OpenSSL on its own thread; `script` runs after SSL_connect succeeded.
class RawClient
{
public:
    RawClient(int fd, std::function<void(SSL *)> script) : m_fd(fd)
    {
        m_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(m_ctx, SSL_VERIFY_NONE, nullptr);
        m_ssl = SSL_new(m_ctx);
        SSL_set_fd(m_ssl, fd);
        m_thread = std::thread([this, script = std::move(script)] {
            // The client is not under test: its writes to a closed peer must not kill the process.
            sigset_t pipe;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
            m_connected = SSL_connect(m_ssl) == 1;
            if (m_connected)
                script(m_ssl);
            m_done = true;
        });
    }
    ~RawClient()
    {
        m_thread.join();
        SSL_free(m_ssl);
        SSL_CTX_free(m_ctx);
        ::close(m_fd);
    }
    bool connected() const { return m_connected; }
    bool done() const { return m_done; }

private:
    int m_fd;
    SSL_CTX *m_ctx = nullptr;
    SSL *m_ssl = nullptr;
    std::thread m_thread;
    std::atomic<bool> m_connected{false}, m_done{false};
};

Status pumpHandshake(TlsTransport &t)
{
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    Status s;
    while ((s = t.handshake()) == Status::WantRead || s == Status::WantWrite) {
        if (!waitFor(t.fd(), s, deadline))
            break;
    }
    return s;
}

} // namespace

class tst_TlsTransport : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void largeGatheredWritesWithRetries();
    void bufferedInput();
    void shutdownSendsCloseNotify();
    void eofWithoutCloseNotifyIsClosed();
    void readDrivesTheHandshake();
    void writeToVanishedPeerFailsWithoutSigpipe();
    void notBuiltContextFails();

private:
    TestCertificates m_certs;
    TlsContext m_context;
    int m_serverFd = -1, m_clientFd = -1;
};

void tst_TlsTransport::initTestCase()
{
    const CertKey pair = m_certs.selfSigned(QStringLiteral("server"));
    QVERIFY2(!pair.isNull(), qPrintable(m_certs.error()));
    QSslConfiguration config = QSslConfiguration::defaultConfiguration();
    config.setLocalCertificate(pair.certificate);
    config.setPrivateKey(pair.key);
    QString error;
    QVERIFY2(m_context.build(config, &error), qPrintable(error));
}

void tst_TlsTransport::init()
{
    int fds[2];
    QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    m_serverFd = fds[0];
    m_clientFd = fds[1];
    ::fcntl(m_serverFd, F_SETFL, ::fcntl(m_serverFd, F_GETFL) | O_NONBLOCK);
}

void tst_TlsTransport::cleanup()
{
    m_serverFd = m_clientFd = -1;  // the transport and RawClient closed them
}

void tst_TlsTransport::largeGatheredWritesWithRetries()
{
    QByteArray all(4 * 1024 * 1024 + 3, Qt::Uninitialized);
    QRandomGenerator random(42);
    for (qsizetype i = 0; i < all.size(); ++i)
        all[i] = char(random.generate());
    QByteArray received;
    RawClient client(m_clientFd, [&](SSL *ssl) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the server hit WantWrite
        char buffer[65536];
        size_t n = 0;
        while (received.size() < all.size() && SSL_read_ex(ssl, buffer, sizeof buffer, &n) == 1)
            received.append(buffer, qsizetype(n));
    });
    TlsTransport server(m_serverFd, m_context);
    QCOMPARE(statusName(pumpHandshake(server)), "Ok");

    // Every call presents the unwritten rest with a different, random split into iovecs.
    static const std::size_t sizes[] = {1, 7, 100, 3000, 4096, 5000, 16384, 20000, 70000};
    qsizetype offset = 0;
    int blocked = 0, calls = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (offset < all.size() && Clock::now() < deadline) {
        iovec iov[32];
        int count = 0;
        qsizetype at = offset;
        while (count < 32 && at < all.size()) {
            const std::size_t len = std::min<std::size_t>(sizes[random.bounded(9)], std::size_t(all.size() - at));
            iov[count++] = {all.data() + at, len};
            at += qsizetype(len);
        }
        std::size_t written = 0;
        const Status s = server.write(iov, count, written);
        ++calls;
        if (s == Status::Ok) {
            QVERIFY(written > 0);
            offset += qsizetype(written);
        } else {
            QVERIFY2(s == Status::WantWrite, qPrintable(server.errorString()));
            QCOMPARE(written, std::size_t(0));
            ++blocked;
            waitFor(server.fd(), s, deadline);
        }
    }
    QCOMPARE(offset, all.size());
    QVERIFY(blocked > 0);
    QTRY_VERIFY_WITH_TIMEOUT(client.done(), 20000);
    QCOMPARE(received.size(), all.size());
    QVERIFY(received == all);
}

void tst_TlsTransport::bufferedInput()
{
    RawClient client(m_clientFd, [](SSL *ssl) {
        const QByteArray chunk(1000, 'b');
        size_t n = 0;
        char go;
        SSL_read_ex(ssl, &go, 1, &n);  // wait until the server checked its empty state
        for (int i = 0; i < 3; ++i)
            SSL_write_ex(ssl, chunk.constData(), size_t(chunk.size()), &n);  // three records
        char c;
        SSL_read_ex(ssl, &c, 1, &n);  // until the server closes
    });
    TlsTransport server(m_serverFd, m_context);
    QCOMPARE(statusName(pumpHandshake(server)), "Ok");
    QVERIFY(!server.hasBufferedInput());
    const iovec go{const_cast<char *>("g"), 1};
    std::size_t n = 0;
    QCOMPARE(statusName(server.write(&go, 1, n)), "Ok");
    QVERIFY(waitFor(server.fd(), Status::WantRead, Clock::now() + std::chrono::seconds(20)));
    QTest::qWait(100);  // all three records are in the socket now

    char buffer[10];
    QCOMPARE(statusName(server.read(buffer, sizeof buffer, n)), "Ok");
    QCOMPARE(n, std::size_t(10));
    QVERIFY(server.hasBufferedInput());  // decrypted bytes wait inside OpenSSL; the fd may be drained
    std::size_t total = n;
    Status s;
    while ((s = server.read(buffer, sizeof buffer, n)) == Status::Ok)
        total += n;
    QCOMPARE(statusName(s), "WantRead");
    QCOMPARE(total, std::size_t(3000));
    QVERIFY(!server.hasBufferedInput());
    server.shutdown();
}

void tst_TlsTransport::shutdownSendsCloseNotify()
{
    std::atomic<int> clientSaw{-1};
    RawClient client(m_clientFd, [&](SSL *ssl) {
        char c;
        size_t n = 0;
        const int ret = SSL_read_ex(ssl, &c, 1, &n);
        clientSaw = SSL_get_error(ssl, ret);
        SSL_shutdown(ssl);  // answer with our close_notify
    });
    TlsTransport server(m_serverFd, m_context);
    QCOMPARE(statusName(pumpHandshake(server)), "Ok");
    server.shutdown();
    QTRY_COMPARE_WITH_TIMEOUT(clientSaw.load(), int(SSL_ERROR_ZERO_RETURN), 20000);

    char buffer[16];
    std::size_t n = 0;
    Status s;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while ((s = server.read(buffer, sizeof buffer, n)) == Status::WantRead && waitFor(server.fd(), s, deadline)) {
    }
    QCOMPARE(statusName(s), "Closed");
    const iovec iov{buffer, 1};
    QCOMPARE(statusName(server.write(&iov, 1, n)), "Failed");
    QVERIFY(server.errorString().contains(QLatin1String("write after shutdown")));
}

void tst_TlsTransport::eofWithoutCloseNotifyIsClosed()
{
    RawClient client(m_clientFd, [&](SSL *ssl) {
        size_t n = 0;
        SSL_write_ex(ssl, "last", 4, &n);
        ::shutdown(SSL_get_fd(ssl), SHUT_WR);  // TCP-level end, no close_notify
    });
    TlsTransport server(m_serverFd, m_context);
    QCOMPARE(statusName(pumpHandshake(server)), "Ok");
    QByteArray got;
    char buffer[16];
    std::size_t n = 0;
    Status s;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while ((s = server.read(buffer, sizeof buffer, n)) != Status::Closed && s != Status::Failed) {
        if (s == Status::Ok)
            got.append(buffer, qsizetype(n));
        else if (!waitFor(server.fd(), s, deadline))
            break;
    }
    QCOMPARE(statusName(s), "Closed");
    QCOMPARE(got, QByteArray("last"));
}

void tst_TlsTransport::readDrivesTheHandshake()
{
    RawClient client(m_clientFd, [](SSL *ssl) {
        size_t n = 0;
        SSL_write_ex(ssl, "hi", 2, &n);
        char c;
        SSL_read_ex(ssl, &c, 1, &n);
    });
    TlsTransport server(m_serverFd, m_context);
    QVERIFY(!server.isEncrypted());
    char buffer[16];
    std::size_t n = 0;
    Status s;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while ((s = server.read(buffer, sizeof buffer, n)) == Status::WantRead || s == Status::WantWrite) {
        if (!waitFor(server.fd(), s, deadline))
            break;
    }
    QCOMPARE(statusName(s), "Ok");
    QCOMPARE(QByteArray(buffer, qsizetype(n)), QByteArray("hi"));
    QVERIFY(server.isEncrypted());
    QCOMPARE(statusName(server.handshake()), "Ok");  // and it stays done
    QVERIFY(client.connected());
    server.shutdown();
}

void tst_TlsTransport::writeToVanishedPeerFailsWithoutSigpipe()
{
    RawClient client(m_clientFd, [](SSL *ssl) { ::shutdown(SSL_get_fd(ssl), SHUT_RDWR); });
    TlsTransport server(m_serverFd, m_context);
    QCOMPARE(statusName(pumpHandshake(server)), "Ok");
    QTRY_VERIFY_WITH_TIMEOUT(client.done(), 20000);
    QByteArray chunk(64 * 1024, 'z');
    const iovec iov{chunk.data(), std::size_t(chunk.size())};
    Status s = Status::Ok;
    std::size_t n = 0;
    for (int i = 0; i < 100 && s != Status::Failed; ++i)
        s = server.write(&iov, 1, n);  // SIGPIPE here would end the test process
    QCOMPARE(statusName(s), "Failed");
    QVERIFY2(server.errorString().contains(QLatin1String("Broken pipe")), qPrintable(server.errorString()));
}

void tst_TlsTransport::notBuiltContextFails()
{
    TlsContext empty;
    TlsTransport server(m_serverFd, empty);
    QCOMPARE(statusName(server.handshake()), "Failed");
    QCOMPARE(server.errorString(), QStringLiteral("TLS context not built"));
    char c;
    std::size_t n = 1;
    QCOMPARE(statusName(server.read(&c, 1, n)), "Failed");
    QCOMPARE(n, std::size_t(0));
    ::close(m_clientFd);
}

QTEST_MAIN(tst_TlsTransport)
#include "tst_tlstransport.moc"
