// SPDX-License-Identifier: BSD-3-Clause
// TLS for the engine: a QSslConfiguration translated into an OpenSSL SSL_CTX, and its callbacks.
#include "tls_p.h"

#include "logging_p.h"
#include "worker_p.h"

#include <QtCore/QStringList>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslEllipticCurve>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslPreSharedKeyAuthenticator>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstring>

namespace qws {

using namespace tlsdetail;

namespace {

/// Per-SSL_CTX state, owned by the SSL_CTX through ex_data (freed with the last reference).
struct CtxState {
    TlsContext::PskHook pskHook;
    TlsEvents *events = nullptr;
    QByteArray alpnWire;  // length-prefixed protocol names, server preference first
};

void freeCtxState(void *, void *ptr, CRYPTO_EX_DATA *, int, long, void *)
{
    delete static_cast<CtxState *>(ptr);
}

int ctxStateIndex()
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeCtxState);
    return index;
}

X509 *toX509(const QSslCertificate &certificate)
{
    const QByteArray der = certificate.toDer();
    const unsigned char *p = reinterpret_cast<const unsigned char *>(der.constData());
    return d2i_X509(nullptr, &p, der.size());
}

bool isPskOnlyCipher(const QString &name)
{
    return name.contains(QLatin1String("PSK")) && !name.startsWith(QLatin1String("RSA-PSK"));
}

QString protocolName(QSsl::SslProtocol protocol)
{
    QT_WARNING_PUSH
    QT_WARNING_DISABLE_DEPRECATED
    switch (protocol) {
    case QSsl::TlsV1_0: return QStringLiteral("TLS 1.0");
    case QSsl::TlsV1_1: return QStringLiteral("TLS 1.1");
    case QSsl::TlsV1_0OrLater: return QStringLiteral("TLS 1.0 or later");
    case QSsl::TlsV1_1OrLater: return QStringLiteral("TLS 1.1 or later");
    case QSsl::DtlsV1_0: case QSsl::DtlsV1_0OrLater: case QSsl::DtlsV1_2: case QSsl::DtlsV1_2OrLater:
        return QStringLiteral("DTLS");
    default: return QStringLiteral("protocol %1").arg(int(protocol));
    }
    QT_WARNING_POP
}

} // namespace

// ---- helpers shared with tls_p.cpp ------------------------------------------------------------

namespace tlsdetail {

int transportIndex()
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

/// Drains OpenSSL's thread-local error queue into one line ("error:0A00009C:SSL routines::http request").
QString drainErrors()
{
    QStringList parts;
    char buffer[256];
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buffer, sizeof buffer);
        parts << QString::fromLatin1(buffer);
    }
    return parts.join(QStringLiteral("; "));
}

QString withDetail(const QString &text)
{
    const QString detail = drainErrors();
    return detail.isEmpty() ? text : text + QStringLiteral(" (") + detail + QLatin1Char(')');
}

QSslCertificate fromX509(X509 *x509)
{
    if (!x509)
        return QSslCertificate();
    unsigned char *der = nullptr;
    const int len = i2d_X509(x509, &der);
    if (len <= 0)
        return QSslCertificate();
    QSslCertificate certificate(QByteArray(reinterpret_cast<const char *>(der), len), QSsl::Der);
    OPENSSL_free(der);
    return certificate;
}

TlsEvents *eventsOf(SSL *ssl)
{
    const auto *state = ssl ? static_cast<const CtxState *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctxStateIndex()))
                            : nullptr;
    return state ? state->events : nullptr;
}

} // namespace tlsdetail

// ---- callbacks (a struct so that they may touch TlsTransport's private members) ----------------

struct TlsCallbacks {
    static int verify(int preverifyOk, X509_STORE_CTX *store)
    {
        auto *ssl = static_cast<SSL *>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto *transport = ssl ? static_cast<TlsTransport *>(SSL_get_ex_data(ssl, transportIndex())) : nullptr;
        if (!preverifyOk && transport) {
            const QSslError error(sslErrorFromX509(X509_STORE_CTX_get_error(store)),
                                  fromX509(X509_STORE_CTX_get_current_cert(store)));
            if (!transport->m_verifyErrors.contains(error))
                transport->m_verifyErrors.append(error);
        }
        // VerifyPeer fails the handshake at the first problem; QueryPeer only records it.
        const bool required = ssl && (SSL_get_verify_mode(ssl) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
        return required ? preverifyOk : 1;
    }

    static unsigned int psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int maxLength)
    {
        const auto *state = static_cast<const CtxState *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctxStateIndex()));
        if (!state || !state->pskHook)
            return 0;
        QSslPreSharedKeyAuthenticator authenticator;
        authenticator.setIdentity(QByteArray(identity ? identity : ""));
        state->pskHook(&authenticator);
        const QByteArray key = authenticator.preSharedKey();
        if (key.isEmpty()) {
            qCDebug(lcTls) << "no pre-shared key for identity" << authenticator.identity();
            return 0;
        }
        const unsigned int length = std::min<unsigned int>(unsigned(key.size()), maxLength);
        std::memcpy(psk, key.constData(), length);
        return length;
    }

    static int alpn(SSL *ssl, const unsigned char **out, unsigned char *outLength, const unsigned char *in,
                    unsigned int inLength, void *)
    {
        const auto *state = static_cast<const CtxState *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctxStateIndex()));
        if (!state || state->alpnWire.isEmpty())
            return SSL_TLSEXT_ERR_NOACK;
        unsigned char *selected = nullptr;
        const auto *server = reinterpret_cast<const unsigned char *>(state->alpnWire.constData());
        if (SSL_select_next_proto(&selected, outLength, server, unsigned(state->alpnWire.size()), in, inLength)
            != OPENSSL_NPN_NEGOTIATED)
            return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
};

// ---- TlsContext ------------------------------------------------------------------------------

TlsContext::TlsContext() = default;

TlsContext::~TlsContext()
{
    SSL_CTX_free(m_ctx);
}

bool TlsContext::build(const QSslConfiguration &cfg, QString *error)
{
    auto failWith = [error](const QString &text) {
        if (error)
            *error = text;
        qCWarning(lcTls).noquote() << "TLS configuration refused:" << text;
        ERR_clear_error();
        return false;
    };
    ERR_clear_error();

    // Protocol range: the floor is TLS 1.2.
    int minVersion = TLS1_2_VERSION;
    int maxVersion = 0;  // 0 = the highest OpenSSL knows
    switch (cfg.protocol()) {
    case QSsl::TlsV1_2OrLater: case QSsl::SecureProtocols: case QSsl::AnyProtocol: break;
    case QSsl::TlsV1_2: maxVersion = TLS1_2_VERSION; break;
    case QSsl::TlsV1_3: minVersion = maxVersion = TLS1_3_VERSION; break;
    case QSsl::TlsV1_3OrLater: minVersion = TLS1_3_VERSION; break;
    default:
        return failWith(QStringLiteral("%1 is not supported: the server accepts TLS 1.2 and later")
                            .arg(protocolName(cfg.protocol())));
    }

    const QList<QSslCipher> ciphers = cfg.ciphers();
    const bool customCiphers = !ciphers.isEmpty() && ciphers != QSslConfiguration::defaultConfiguration().ciphers();
    const bool allPsk = customCiphers && std::all_of(ciphers.begin(), ciphers.end(), [](const QSslCipher &c) {
                            return isPskOnlyCipher(c.name());
                        });

    QList<QSslCertificate> chain = cfg.localCertificateChain();
    if (chain.isEmpty() && !cfg.localCertificate().isNull())
        chain << cfg.localCertificate();
    const bool pskOnly = chain.isEmpty() && (allPsk || !cfg.preSharedKeyIdentityHint().isEmpty());
    if (chain.isEmpty() && !pskOnly)
        return failWith(QStringLiteral("no certificate configured"));
    if (pskOnly && maxVersion == 0 && minVersion <= TLS1_2_VERSION)
        maxVersion = TLS1_2_VERSION;  // TLS 1.3 without a certificate needs client-side PSK sessions

    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx)
        return failWith(withDetail(QStringLiteral("cannot create an OpenSSL context")));
    SSL_CTX_set_min_proto_version(ctx.get(), minVersion);
    SSL_CTX_set_max_proto_version(ctx.get(), maxVersion);

    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (!cfg.testSslOption(QSsl::SslOptionDisableServerCipherPreference))
        options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (cfg.testSslOption(QSsl::SslOptionDisableSessionTickets))
        options |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx.get(), options);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                                    | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx.get(), 1);
    SSL_CTX_set_dh_auto(ctx.get(), 1);
    static const unsigned char sessionContext[] = "qws";
    SSL_CTX_set_session_id_context(ctx.get(), sessionContext, sizeof sessionContext - 1);

    // Certificate chain and private key.
    for (qsizetype i = 0; i < chain.size(); ++i) {
        if (chain.at(i).isNull())
            return failWith(i == 0 ? QStringLiteral("the local certificate is null (not a readable certificate)")
                                   : QStringLiteral("certificate %1 of the local chain is null").arg(i));
        X509 *x509 = toX509(chain.at(i));
        if (!x509)
            return failWith(withDetail(QStringLiteral("cannot decode certificate %1 of the local chain").arg(i)));
        const int ok = i == 0 ? SSL_CTX_use_certificate(ctx.get(), x509) : SSL_CTX_add1_chain_cert(ctx.get(), x509);
        X509_free(x509);
        if (!ok)
            return failWith(withDetail(i == 0 ? QStringLiteral("the local certificate was refused")
                                              : QStringLiteral("chain certificate %1 was refused").arg(i)));
    }
    if (!chain.isEmpty()) {
        const QSslKey key = cfg.privateKey();
        if (key.isNull())
            return failWith(QStringLiteral("no private key configured"));
        if (key.type() != QSsl::PrivateKey)
            return failWith(QStringLiteral("the configured key is a public key, not a private key"));
        EVP_PKEY *pkey = nullptr;
        if (key.algorithm() == QSsl::Opaque) {
            pkey = static_cast<EVP_PKEY *>(key.handle());
            if (!pkey)
                return failWith(QStringLiteral("the opaque private key has no OpenSSL handle"));
            EVP_PKEY_up_ref(pkey);
        } else if (key.algorithm() == QSsl::Dh) {
            return failWith(QStringLiteral("a Diffie-Hellman key cannot sign: use an RSA, EC or DSA key"));
        } else {
            const QByteArray pem = key.toPem();
            BIO *bio = BIO_new_mem_buf(pem.constData(), int(pem.size()));
            pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
            BIO_free(bio);
            if (!pkey)
                return failWith(withDetail(QStringLiteral("cannot decode the private key")));
        }
        const bool used = SSL_CTX_use_PrivateKey(ctx.get(), pkey) == 1;
        EVP_PKEY_free(pkey);
        if (!used || SSL_CTX_check_private_key(ctx.get()) != 1)
            return failWith(withDetail(QStringLiteral("private key does not match certificate")));
    }

    // Peer (client certificate) verification. AutoVerifyPeer on a server asks for nothing.
    m_verifyMode = cfg.peerVerifyMode() == QSslSocket::AutoVerifyPeer ? QSslSocket::VerifyNone : cfg.peerVerifyMode();
    if (m_verifyMode == QSslSocket::VerifyNone) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    } else {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx.get());
        const QList<QSslCertificate> cas = cfg.caCertificates();
        for (const QSslCertificate &ca : cas) {
            if (X509 *x509 = toX509(ca)) {
                X509_STORE_add_cert(store, x509);  // duplicates are harmless
                X509_free(x509);
            }
        }
        ERR_clear_error();
        if (cas.isEmpty())
            qCWarning(lcTls) << "peer verification requested without CA certificates: no client can verify";
        int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
        if (m_verifyMode == QSslSocket::VerifyPeer)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx.get(), mode, &TlsCallbacks::verify);
        if (cfg.peerVerifyDepth() > 0)
            SSL_CTX_set_verify_depth(ctx.get(), cfg.peerVerifyDepth());
    }

    // Ciphers, only when the configuration chose its own.
    if (customCiphers) {
        QByteArray tls12, tls13;
        for (const QSslCipher &cipher : ciphers) {
            QByteArray &list = cipher.name().startsWith(QLatin1String("TLS_")) ? tls13 : tls12;
            list += (list.isEmpty() ? "" : ":") + cipher.name().toLatin1();
        }
        if (!tls12.isEmpty() && !SSL_CTX_set_cipher_list(ctx.get(), tls12.constData()))
            return failWith(withDetail(QStringLiteral("none of the configured ciphers is usable: %1")
                                           .arg(QString::fromLatin1(tls12))));
        if (!tls13.isEmpty() && !SSL_CTX_set_ciphersuites(ctx.get(), tls13.constData()))
            return failWith(withDetail(QStringLiteral("none of the configured TLS 1.3 cipher suites is usable: %1")
                                           .arg(QString::fromLatin1(tls13))));
    }
    const QList<QSslEllipticCurve> curves = cfg.ellipticCurves();
    if (!curves.isEmpty()) {
        QByteArray groups;
        for (const QSslEllipticCurve &curve : curves)
            groups += (groups.isEmpty() ? "" : ":") + curve.shortName().toLatin1();
        if (!SSL_CTX_set1_groups_list(ctx.get(), groups.constData()))
            return failWith(withDetail(QStringLiteral("unusable elliptic curves: %1").arg(QString::fromLatin1(groups))));
    }

    auto state = std::make_unique<CtxState>();
    QList<QByteArray> protocols = cfg.allowedNextProtocols();
    if (protocols.isEmpty())
        protocols << QByteArrayLiteral("http/1.1");
    for (const QByteArray &protocol : protocols) {
        if (!protocol.isEmpty() && protocol.size() < 256)
            state->alpnWire += char(protocol.size()) + protocol;
    }
    SSL_CTX_set_alpn_select_cb(ctx.get(), &TlsCallbacks::alpn, nullptr);
    if (!cfg.preSharedKeyIdentityHint().isEmpty()
        && !SSL_CTX_use_psk_identity_hint(ctx.get(), cfg.preSharedKeyIdentityHint().constData()))
        return failWith(withDetail(QStringLiteral("the pre-shared key identity hint was refused")));
    state->events = m_events;
    if (m_pskHook) {
        state->pskHook = m_pskHook;
    } else if (TlsEvents *events = m_events) {
        state->pskHook = [events](QSslPreSharedKeyAuthenticator *a) { events->preSharedKeyAuthenticationRequired(a); };
    }
    if (state->pskHook)
        SSL_CTX_set_psk_server_callback(ctx.get(), &TlsCallbacks::psk);
    if (!SSL_CTX_set_ex_data(ctx.get(), ctxStateIndex(), state.get()))
        return failWith(withDetail(QStringLiteral("cannot attach state to the OpenSSL context")));
    state.release();  // owned by the SSL_CTX from here on

    SSL_CTX_free(m_ctx);
    m_ctx = ctx.release();
    m_configuration = cfg;
    return true;
}

std::shared_ptr<TlsContext> makeTlsContext(const QSslConfiguration &configuration, TlsEvents &events,
                                           QString &errorString)
{
    auto context = std::make_shared<TlsContext>();
    context->setEvents(&events);
    if (!context->build(configuration, &errorString))
        return nullptr;
    return context;
}

QSslError::SslError sslErrorFromX509(int result)
{
    switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: return QSslError::UnableToGetIssuerCertificate;
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: return QSslError::UnableToDecryptCertificateSignature;
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: return QSslError::UnableToDecodeIssuerPublicKey;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return QSslError::CertificateSignatureFailed;
    case X509_V_ERR_CERT_NOT_YET_VALID: return QSslError::CertificateNotYetValid;
    case X509_V_ERR_CERT_HAS_EXPIRED: return QSslError::CertificateExpired;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: return QSslError::InvalidNotBeforeField;
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return QSslError::InvalidNotAfterField;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return QSslError::SelfSignedCertificate;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return QSslError::SelfSignedCertificateInChain;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return QSslError::UnableToGetLocalIssuerCertificate;
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return QSslError::UnableToVerifyFirstCertificate;
    case X509_V_ERR_CERT_REVOKED: return QSslError::CertificateRevoked;
    case X509_V_ERR_INVALID_CA: return QSslError::InvalidCaCertificate;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return QSslError::PathLengthExceeded;
    case X509_V_ERR_INVALID_PURPOSE: return QSslError::InvalidPurpose;
    case X509_V_ERR_CERT_UNTRUSTED: return QSslError::CertificateUntrusted;
    case X509_V_ERR_CERT_REJECTED: return QSslError::CertificateRejected;
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH: return QSslError::SubjectIssuerMismatch;
    case X509_V_ERR_AKID_SKID_MISMATCH: return QSslError::SubjectIssuerMismatch;
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH: return QSslError::AuthorityIssuerSerialNumberMismatch;
    default: return QSslError::UnspecifiedError;
    }
}

} // namespace qws
