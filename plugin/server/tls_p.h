// SPDX-License-Identifier: BSD-3-Clause
// TLS for the engine through OpenSSL directly: a QSslConfiguration translated into an SSL_CTX.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "transport_p.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>
#include <QtNetwork/QSsl>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslError>
#include <QtNetwork/QSslSocket>

#include <functional>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QSslPreSharedKeyAuthenticator;
QT_END_NAMESPACE

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace qws {

class TlsEvents;  // worker_p.h: how the TLS layer reports to the server

/// The server side of TLS, shared by every connection of a server (and by every worker thread:
/// an SSL_CTX is safe to use from many threads once built). Rebuild a new one to change settings;
/// connections made from an older context keep it alive (the SSL_CTX is reference-counted).
///
/// Translation of QSslConfiguration (server side):
///  - localCertificateChain() (or localCertificate()) + privateKey(): required, unless the server is
///    PSK-only (every configured cipher is a PSK suite, or a preSharedKeyIdentityHint() is set).
///    Opaque keys (QSsl::Opaque) are used through their EVP_PKEY handle.
///  - peerVerifyMode(): VerifyNone and AutoVerifyPeer do not ask for a client certificate;
///    QueryPeer asks, never fails the handshake on it, and reports what it found wrong;
///    VerifyPeer requires a certificate that verifies against caCertificates().
///  - protocol(): TlsV1_2OrLater, SecureProtocols and AnyProtocol → TLS 1.2 and later (the floor);
///    TlsV1_2 → exactly 1.2; TlsV1_3 → exactly 1.3; TlsV1_3OrLater → 1.3 and later. TLS 1.0/1.1 and
///    DTLS values are refused with an error text.
///  - ciphers(): applied only when different from QSslConfiguration::defaultConfiguration()'s list
///    (TLS 1.3 suites "TLS_*" through SSL_CTX_set_ciphersuites, the rest through set_cipher_list).
///  - allowedNextProtocols(): ALPN, server preference; defaults to {"http/1.1"}. A client offering
///    none of them still connects, without ALPN.
///  - preSharedKeyIdentityHint(), sslOption(SslOptionDisableSessionTickets / …Compression).
class TlsContext
{
public:
    /// Called on a worker thread during a handshake whose client chose a PSK suite. The identity the
    /// client sent is in authenticator->identity(); set the key with setPreSharedKey(). An empty key
    /// fails the handshake. identityHint() and the maximum lengths are not filled in (Qt gives no
    /// public setter); keys longer than OpenSSL's maximum are truncated, as Qt does.
    using PskHook = std::function<void(QSslPreSharedKeyAuthenticator *authenticator)>;

    TlsContext();
    ~TlsContext();
    TlsContext(const TlsContext &) = delete;
    TlsContext &operator=(const TlsContext &) = delete;

    /// Builds the SSL_CTX. On failure returns false, sets *error (when given) to a specific text
    /// ("no certificate configured", "private key does not match certificate", …) and leaves the
    /// previous context, if any, in place.
    bool build(const QSslConfiguration &configuration, QString *error = nullptr);
    bool isValid() const { return m_ctx != nullptr; }

    /// Set before build() (the hook is copied into the built context). Without a hook but with
    /// events (below), PSK requests go to TlsEvents::preSharedKeyAuthenticationRequired().
    void setPskHook(PskHook hook) { m_pskHook = std::move(hook); }
    /// Set before build(): where transports report client-certificate problems (peerVerifyError()
    /// per error, then sslErrors() with the list, once per connection, as the handshake ends) and
    /// PSK requests. `events` must outlive every transport made from this context.
    void setEvents(TlsEvents *events) { m_events = events; }

    QSslConfiguration configuration() const { return m_configuration; }
    QSslSocket::PeerVerifyMode peerVerifyMode() const { return m_verifyMode; }
    SSL_CTX *nativeHandle() const { return m_ctx; }

private:
    SSL_CTX *m_ctx = nullptr;
    PskHook m_pskHook;
    TlsEvents *m_events = nullptr;
    QSslConfiguration m_configuration;
    QSslSocket::PeerVerifyMode m_verifyMode = QSslSocket::VerifyNone;
};

/// A TLS server stream over a connected, non-blocking socket. Owns the fd (closes it on
/// destruction) unless constructed with ownsFd = false. Not thread-safe: one worker drives it.
///
/// Semantics a worker relies on:
///  - socket I/O goes through a BIO using send(MSG_NOSIGNAL)/recv: a vanished peer gives Failed
///    ("Broken pipe"), never SIGPIPE.
///  - handshake(): Ok once the handshake is complete (and on every later call). read()/write()
///    before that drive the handshake first. Application data may already be buffered when it
///    returns Ok (read-ahead): read before waiting for the fd.
///  - read(): Closed on close_notify and also on a TCP FIN without close_notify (WebSocket frames
///    are self-delimiting; the protocol layer reports an abnormal closure if no Close frame came).
///  - write(): SSL_MODE_ENABLE_PARTIAL_WRITE; `count` is what OpenSSL fully wrote to the socket.
///    After WantWrite/WantRead with count 0, call again with the same leading bytes (more may be
///    appended, the iovec split may differ): OpenSSL's retry rule is honoured internally. Small
///    iovecs are coalesced into records of up to 16 KiB.
///  - hasBufferedInput(): true when OpenSSL holds input (decrypted bytes or raw read-ahead). Call
///    read() then; a WantRead from it means the socket itself is drained — wait for the fd. Never
///    loop on hasBufferedInput() alone.
///  - shutdown(): sends close_notify, then shutdown(SHUT_WR). If the socket is full, the alert is
///    retried by the next read()/write() call before SHUT_WR.
///  - peerVerificationErrors(): what the client certificate check found (QueryPeer / VerifyPeer),
///    in chain order, complete once handshake() returned Ok or Failed; also sent to the context's
///    TlsEvents (peerVerifyError() for each, then sslErrors() with the list) at that moment.
class TlsTransport final : public Transport
{
public:
    TlsTransport(int fd, TlsContext &context, bool ownsFd = true);
    ~TlsTransport() override;
    TlsTransport(const TlsTransport &) = delete;
    TlsTransport &operator=(const TlsTransport &) = delete;

    Status handshake() override;
    Status read(char *buffer, std::size_t size, std::size_t &count) override;
    Status write(const struct iovec *iov, int iovcnt, std::size_t &count) override;
    void shutdown() override;
    bool hasBufferedInput() const override;

    int fd() const override { return m_fd; }
    bool isEncrypted() const override { return m_handshakeDone; }
    QString errorString() const override { return m_errorString; }
    bool failedByPeer() const override { return m_failedByPeer; }

    // ---- what the handshake established --------------------------------------------------------
    QList<QSslError> peerVerificationErrors() const { return m_verifyErrors; }
    QSslCertificate peerCertificate() const;
    QList<QSslCertificate> peerCertificateChain() const;
    QSsl::SslProtocol sessionProtocol() const;
    QString sessionCipherName() const;
    QByteArray alpnProtocol() const;
    /// The identity a PSK client presented (empty otherwise).
    QByteArray pskIdentity() const;

    SSL *nativeHandle() const { return m_ssl; }

private:
    friend struct TlsCallbacks;
    Status fail(const QString &what, int sslError, int ret);
    /// read()/write() start here: Failed after a fatal error (even post-handshake), else handshake().
    Status ready() { return m_fatal ? Status::Failed : handshake(); }
    void handshakeEnded();
    bool flushShutdown();
    void collectPeerChain();

    int m_fd;
    bool m_ownsFd;
    SSL *m_ssl = nullptr;
    bool m_handshakeDone = false;
    bool m_fatal = false;
    bool m_failedByPeer = false;     // the fatal error was the peer's EOF or reset
    bool m_shutdownPending = false;  // close_notify not fully written yet
    bool m_shutdownDone = false;
    std::size_t m_blockedLen = 0;    // length of the SSL_write that last returned WANT_*
    std::vector<char> m_stage;       // coalescing buffer for small iovecs
    QString m_errorString;
    QList<QSslError> m_verifyErrors;
    QList<QSslCertificate> m_peerChain;
};

namespace tlsdetail {  // shared by tls_p.cpp and tlscontext.cpp
int transportIndex();                  ///< SSL ex_data slot holding the TlsTransport
TlsEvents *eventsOf(SSL *ssl);         ///< the events of the SSL's context, or nullptr
QString drainErrors();                 ///< OpenSSL's error queue as one line, emptied
QString withDetail(const QString &text);  ///< text + " (" + drainErrors() + ")"
QSslCertificate fromX509(X509 *x509);
} // namespace tlsdetail

// The engine's hooks (declared in worker_p.h, defined in tls_p.cpp):
//   std::shared_ptr<TlsContext> makeTlsContext(const QSslConfiguration &, TlsEvents &, QString &errorString);
//   std::unique_ptr<Transport> makeTlsTransport(int fd, TlsContext &context);  // owns fd

/// Maps an X509_V_ERR_* code to the matching QSslError::SslError (UnspecifiedError otherwise).
QSslError::SslError sslErrorFromX509(int x509VerifyResult);

} // namespace qws
