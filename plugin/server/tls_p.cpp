// SPDX-License-Identifier: BSD-3-Clause
// TLS for the engine: a non-blocking OpenSSL stream per connection behind the Transport seam.
#include "tls_p.h"

#include "logging_p.h"
#include "worker_p.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <sys/socket.h>

namespace qws {

using namespace tlsdetail;

namespace {

constexpr std::size_t kMaxRecord = 16384;     // TLS plaintext record limit: one SSL_write's worth
constexpr std::size_t kCoalesceBelow = 4096;  // iovecs smaller than this are gathered into m_stage

// OpenSSL's socket BIO writes with write(2): a peer that went away would raise SIGPIPE and kill the
// process. This BIO is the socket BIO (same create/destroy/ctrl) with send(MSG_NOSIGNAL) and recv.
int bioWrite(BIO *bio, const char *data, int length)
{
    const int fd = int(BIO_get_fd(bio, nullptr));
    errno = 0;
    ssize_t n;
    do {
        n = ::send(fd, data, std::size_t(length), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    BIO_clear_retry_flags(bio);
    if (n <= 0 && BIO_sock_should_retry(int(n)))
        BIO_set_retry_write(bio);
    return int(n);
}

int bioRead(BIO *bio, char *data, int length)
{
    if (!data)
        return 0;
    const int fd = int(BIO_get_fd(bio, nullptr));
    errno = 0;
    ssize_t n;
    do {
        n = ::recv(fd, data, std::size_t(length), 0);
    } while (n < 0 && errno == EINTR);
    BIO_clear_retry_flags(bio);
    if (n <= 0) {
        if (BIO_sock_should_retry(int(n)))
            BIO_set_retry_read(bio);
        else if (n == 0)
            BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // what the socket BIO does: lets OpenSSL see EOF
    }
    return int(n);
}

int bioPuts(BIO *bio, const char *text)
{
    return bioWrite(bio, text, int(std::strlen(text)));
}

BIO_METHOD *socketMethod()
{
    static BIO_METHOD *const method = [] {
        const BIO_METHOD *base = BIO_s_socket();
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                     "qws socket");
        if (m && (!BIO_meth_set_write(m, bioWrite) || !BIO_meth_set_read(m, bioRead)
                  || !BIO_meth_set_puts(m, bioPuts) || !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base))
                  || !BIO_meth_set_create(m, BIO_meth_get_create(base))
                  || !BIO_meth_set_destroy(m, BIO_meth_get_destroy(base)))) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return method;
}

} // namespace

// ---- TlsTransport ----------------------------------------------------------------------------

TlsTransport::TlsTransport(int fd, TlsContext &context, bool ownsFd)
    : m_fd(fd), m_ownsFd(ownsFd)
{
    if (!context.isValid()) {
        m_fatal = true;
        m_errorString = QStringLiteral("TLS context not built");
        return;
    }
    m_ssl = SSL_new(context.nativeHandle());
    BIO *bio = socketMethod() ? BIO_new(socketMethod()) : nullptr;
    if (!m_ssl || !bio) {
        BIO_free(bio);
        m_fatal = true;
        m_errorString = withDetail(QStringLiteral("cannot create the TLS session"));
        return;
    }
    BIO_set_fd(bio, fd, BIO_NOCLOSE);
    SSL_set_bio(m_ssl, bio, bio);  // the SSL owns the BIO (one reference for both directions)
    SSL_set_ex_data(m_ssl, transportIndex(), this);
    SSL_set_accept_state(m_ssl);
}

TlsTransport::~TlsTransport()
{
    SSL_free(m_ssl);
    if (m_ownsFd && m_fd >= 0)
        ::close(m_fd);
}

std::unique_ptr<Transport> makeTlsTransport(int fd, TlsContext &context)
{
    return std::make_unique<TlsTransport>(fd, context, true);
}

void TlsTransport::handshakeEnded()
{
    collectPeerChain();
    if (m_verifyErrors.isEmpty() || !m_ssl)
        return;
    TlsEvents *events = eventsOf(m_ssl);
    if (!events)
        return;
    for (const QSslError &error : std::as_const(m_verifyErrors))
        events->peerVerifyError(error);
    events->sslErrors(m_verifyErrors);
}

Transport::Status TlsTransport::fail(const QString &what, int sslError, int ret)
{
    const int savedErrno = errno;
    m_fatal = true;
    QString detail;
    if (sslError == SSL_ERROR_SYSCALL) {
        detail = drainErrors();
        if (detail.isEmpty()) {
            m_failedByPeer = savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE;
            detail = savedErrno != 0 ? QString::fromLocal8Bit(std::strerror(savedErrno))
                                     : QStringLiteral("the peer closed the connection");
        }
    } else if (sslError == SSL_ERROR_ZERO_RETURN) {
        m_failedByPeer = true;
        detail = QStringLiteral("the peer closed the connection");
    } else {
        detail = drainErrors();
        const long verify = m_ssl ? SSL_get_verify_result(m_ssl) : X509_V_OK;
        if (verify != X509_V_OK)
            detail += QStringLiteral(" [%1]").arg(QString::fromLatin1(X509_verify_cert_error_string(verify)));
        if (detail.isEmpty())
            detail = QStringLiteral("OpenSSL error %1 (return %2)").arg(sslError).arg(ret);
    }
    m_errorString = what + QStringLiteral(": ") + detail;
    qCDebug(lcTls).noquote() << "fd" << m_fd << m_errorString;
    return Status::Failed;
}

void TlsTransport::collectPeerChain()
{
    m_peerChain.clear();
    if (!m_ssl)
        return;
    X509 *leaf = SSL_get0_peer_certificate(m_ssl);
    if (leaf)
        m_peerChain << fromX509(leaf);
    if (STACK_OF(X509) *stack = SSL_get_peer_cert_chain(m_ssl)) {  // server side: without the leaf
        for (int i = 0; i < sk_X509_num(stack); ++i) {
            X509 *x509 = sk_X509_value(stack, i);
            if (x509 != leaf)
                m_peerChain << fromX509(x509);
        }
    }
}

Transport::Status TlsTransport::handshake()
{
    if (m_handshakeDone)
        return Status::Ok;
    if (m_fatal)
        return Status::Failed;
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(m_ssl);
    if (ret == 1) {
        m_handshakeDone = true;
        handshakeEnded();
        return Status::Ok;
    }
    const int sslError = SSL_get_error(m_ssl, ret);
    if (sslError == SSL_ERROR_WANT_READ)
        return Status::WantRead;
    if (sslError == SSL_ERROR_WANT_WRITE)
        return Status::WantWrite;
    const unsigned long first = ERR_peek_error();
    if (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        m_verifyErrors.append(QSslError(QSslError::NoPeerCertificate));
    handshakeEnded();
    if (sslError == SSL_ERROR_ZERO_RETURN || (sslError == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0))
        return fail(QStringLiteral("TLS handshake failed"), SSL_ERROR_ZERO_RETURN, ret);
    return fail(QStringLiteral("TLS handshake failed"), sslError, ret);
}

Transport::Status TlsTransport::read(char *buffer, std::size_t size, std::size_t &count)
{
    count = 0;
    if (const Status s = ready(); s != Status::Ok)
        return s;
    if (m_shutdownPending)
        flushShutdown();
    if (size == 0)
        return Status::Ok;
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_read_ex(m_ssl, buffer, size, &count);
    if (ret == 1)
        return Status::Ok;
    count = 0;
    const int sslError = SSL_get_error(m_ssl, ret);
    switch (sslError) {
    case SSL_ERROR_WANT_READ: return Status::WantRead;
    case SSL_ERROR_WANT_WRITE: return Status::WantWrite;
    case SSL_ERROR_ZERO_RETURN: return Status::Closed;
    case SSL_ERROR_SYSCALL:
        if (errno == 0 && ERR_peek_error() == 0)
            return Status::Closed;  // EOF without close_notify
        [[fallthrough]];
    default:
        return fail(QStringLiteral("TLS read failed"), sslError, ret);
    }
}

Transport::Status TlsTransport::write(const struct iovec *iov, int iovcnt, std::size_t &count)
{
    count = 0;
    if (const Status s = ready(); s != Status::Ok)
        return s;
    std::size_t total = 0;
    for (int i = 0; i < iovcnt; ++i)
        total += iov[i].iov_len;
    if (m_shutdownPending || m_shutdownDone) {
        const bool flushed = flushShutdown();
        if (total == 0)
            return flushed ? Status::Ok : Status::WantWrite;
        m_fatal = true;
        m_errorString = QStringLiteral("TLS write failed: write after shutdown");
        return Status::Failed;
    }

    int index = 0;          // iovec holding the next unwritten byte
    std::size_t inner = 0;  // offset of that byte inside iov[index]
    while (count < total) {
        while (inner == iov[index].iov_len) {
            ++index;
            inner = 0;
        }
        const std::size_t remaining = total - count;
        const std::size_t available = iov[index].iov_len - inner;
        // OpenSSL's retry rule: after WANT_*, the next SSL_write must cover at least as many bytes
        // (the same ones: the caller's contract). m_blockedLen ≤ kMaxRecord ≤ what we try below.
        const std::size_t need = std::max(m_blockedLen, std::min(kCoalesceBelow, remaining));
        const char *data;
        std::size_t length;
        if (available >= need) {
            data = static_cast<const char *>(iov[index].iov_base) + inner;
            length = std::min(available, kMaxRecord);
        } else {
            const std::size_t target = std::min(kMaxRecord, remaining);
            m_stage.resize(target);
            std::size_t filled = 0;
            int i = index;
            std::size_t off = inner;
            while (filled < target) {
                const std::size_t take = std::min(iov[i].iov_len - off, target - filled);
                std::memcpy(m_stage.data() + filled, static_cast<const char *>(iov[i].iov_base) + off, take);
                filled += take;
                ++i;
                off = 0;
            }
            data = m_stage.data();
            length = target;
        }
        ERR_clear_error();
        errno = 0;
        std::size_t written = 0;
        const int ret = SSL_write_ex(m_ssl, data, length, &written);
        if (ret == 1) {
            m_blockedLen = 0;
            count += written;
            // advance (index, inner) by `written`
            std::size_t left = written;
            while (left > 0) {
                const std::size_t step = std::min(left, iov[index].iov_len - inner);
                inner += step;
                left -= step;
                if (left > 0) {
                    ++index;
                    inner = 0;
                }
            }
            continue;
        }
        const int sslError = SSL_get_error(m_ssl, ret);
        if (sslError == SSL_ERROR_WANT_WRITE || sslError == SSL_ERROR_WANT_READ) {
            m_blockedLen = length;
            if (count > 0)
                return Status::Ok;
            return sslError == SSL_ERROR_WANT_WRITE ? Status::WantWrite : Status::WantRead;
        }
        return fail(QStringLiteral("TLS write failed"), sslError, ret);
    }
    return Status::Ok;
}

bool TlsTransport::flushShutdown()
{
    if (!m_shutdownPending)
        return true;
    ERR_clear_error();
    const int ret = SSL_shutdown(m_ssl);
    if (ret < 0) {
        const int sslError = SSL_get_error(m_ssl, ret);
        if (sslError == SSL_ERROR_WANT_WRITE || sslError == SSL_ERROR_WANT_READ)
            return false;  // close_notify still queued: retried by the next read()/write()
        ERR_clear_error();
    }
    m_shutdownPending = false;
    m_shutdownDone = true;
    ::shutdown(m_fd, SHUT_WR);
    return true;
}

void TlsTransport::shutdown()
{
    if (m_shutdownPending || m_shutdownDone)
        return;
    if (!m_ssl || !m_handshakeDone || m_fatal || m_blockedLen > 0) {
        // No session to close politely (or a record half written): just end the stream.
        m_shutdownDone = true;
        ::shutdown(m_fd, SHUT_WR);
        return;
    }
    m_shutdownPending = true;
    flushShutdown();
}

bool TlsTransport::hasBufferedInput() const
{
    return m_ssl && !m_fatal && (SSL_pending(m_ssl) > 0 || SSL_has_pending(m_ssl) == 1);
}

QSslCertificate TlsTransport::peerCertificate() const
{
    return m_peerChain.value(0);
}

QList<QSslCertificate> TlsTransport::peerCertificateChain() const
{
    return m_peerChain;
}

QSsl::SslProtocol TlsTransport::sessionProtocol() const
{
    if (!m_ssl || !m_handshakeDone)
        return QSsl::UnknownProtocol;
    switch (SSL_version(m_ssl)) {
    case TLS1_2_VERSION: return QSsl::TlsV1_2;
    case TLS1_3_VERSION: return QSsl::TlsV1_3;
    default: return QSsl::UnknownProtocol;
    }
}

QString TlsTransport::sessionCipherName() const
{
    const SSL_CIPHER *cipher = m_ssl ? SSL_get_current_cipher(m_ssl) : nullptr;
    return cipher ? QString::fromLatin1(SSL_CIPHER_get_name(cipher)) : QString();
}

QByteArray TlsTransport::alpnProtocol() const
{
    const unsigned char *data = nullptr;
    unsigned int length = 0;
    if (m_ssl)
        SSL_get0_alpn_selected(m_ssl, &data, &length);
    return QByteArray(reinterpret_cast<const char *>(data), int(length));
}

QByteArray TlsTransport::pskIdentity() const
{
    const char *identity = m_ssl ? SSL_get_psk_identity(m_ssl) : nullptr;
    return identity ? QByteArray(identity) : QByteArray();
}

} // namespace qws
