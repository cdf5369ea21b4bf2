// SPDX-License-Identifier: BSD-3-Clause
// Self-signed certificate generation with OpenSSL 3 EVP and X509v3 APIs.
#include "selfsigned_p.h"

#include <QtCore/QCryptographicHash>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace qws {

namespace {

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

QString opensslError(const char *what)
{
    char buffer[256] = {};
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return QString::fromLatin1(what);
    ERR_error_string_n(e, buffer, sizeof buffer);
    return QStringLiteral("%1 (%2)").arg(QLatin1String(what), QLatin1String(buffer));
}

bool addExtension(X509 *x509, int nid, const QByteArray &value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
    X509_EXTENSION *extension = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.constData());
    if (!extension)
        return false;
    const bool ok = X509_add_ext(x509, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    return ok;
}

QByteArray toPem(BIO *bio)
{
    char *data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    return QByteArray(data, int(length));
}

} // namespace

QString sha256Fingerprint(const QSslCertificate &certificate)
{
    if (certificate.isNull())
        return {};
    return QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex(':').toUpper());
}

SelfSignedCertificate generateSelfSignedCertificate(const SelfSignedOptions &options, QString *error)
{
    auto failWith = [error](const QString &text) {
        if (error)
            *error = text;
        return SelfSignedCertificate();
    };
    ERR_clear_error();
    if (options.commonName.isEmpty())
        return failWith(QStringLiteral("self-signed certificate: empty common name"));
    if (options.validityDays <= 0)
        return failWith(QStringLiteral("self-signed certificate: validity must be at least one day"));

    // Subject alternative names, in OpenSSL's configuration syntax.
    QStringList names;
    for (const QString &dns : options.dnsNames) {
        if (dns.isEmpty() || dns.contains(QLatin1Char(',')) || dns.contains(QLatin1Char(':')))
            return failWith(QStringLiteral("self-signed certificate: invalid DNS name \"%1\"").arg(dns));
        names << QStringLiteral("DNS:") + dns;
    }
    for (const QHostAddress &ip : options.ipAddresses) {
        if (ip.isNull())
            return failWith(QStringLiteral("self-signed certificate: null IP address"));
        names << QStringLiteral("IP:") + ip.toString();
    }

    PKeyPtr key(options.keyType == SelfSignedOptions::KeyType::Rsa2048
                    ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048))
                    : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key)
        return failWith(opensslError("self-signed certificate: key generation failed"));

    X509Ptr x509(X509_new());
    if (!x509 || !X509_set_version(x509.get(), X509_VERSION_3))
        return failWith(opensslError("self-signed certificate: cannot create the certificate"));

    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1)
        return failWith(opensslError("self-signed certificate: no random serial number"));
    serial[0] &= 0x7f;  // positive
    serial[0] |= 0x40;  // and never shortened to fewer bytes
    BnPtr serialBn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!serialBn || !BN_to_ASN1_INTEGER(serialBn.get(), X509_get_serialNumber(x509.get())))
        return failWith(opensslError("self-signed certificate: cannot set the serial number"));

    if (!X509_gmtime_adj(X509_getm_notBefore(x509.get()), -3600)
        || !X509_time_adj_ex(X509_getm_notAfter(x509.get()), options.validityDays, 0, nullptr))
        return failWith(opensslError("self-signed certificate: cannot set the validity"));

    X509_NAME *name = X509_get_subject_name(x509.get());
    const QByteArray cn = options.commonName.toUtf8();
    const QByteArray org = options.organization.toUtf8();
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char *>(cn.constData()), -1, -1, 0)
        || (!org.isEmpty()
            && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char *>(org.constData()), -1, -1, 0))
        || !X509_set_issuer_name(x509.get(), name) || !X509_set_pubkey(x509.get(), key.get()))
        return failWith(opensslError("self-signed certificate: cannot set the names"));

    // No keyUsage extension on purpose: with digitalSignature alone, X509_check_issued() (and so
    // QSslCertificate::isSelfSigned()) no longer sees the certificate as issued by its own key.
    const bool rsa = options.keyType == SelfSignedOptions::KeyType::Rsa2048;
    if (!addExtension(x509.get(), NID_basic_constraints, "critical,CA:FALSE")
        || !addExtension(x509.get(), NID_ext_key_usage, "serverAuth")
        || (!names.isEmpty() && !addExtension(x509.get(), NID_subject_alt_name, names.join(u',').toUtf8()))
        || !addExtension(x509.get(), NID_subject_key_identifier, "hash")
        || !addExtension(x509.get(), NID_authority_key_identifier, "keyid:always"))
        return failWith(opensslError("self-signed certificate: cannot add the X.509 v3 extensions"));

    if (X509_sign(x509.get(), key.get(), EVP_sha256()) <= 0)
        return failWith(opensslError("self-signed certificate: signing failed"));

    BioPtr certBio(BIO_new(BIO_s_mem()));
    BioPtr keyBio(BIO_new(BIO_s_mem()));
    if (!certBio || !keyBio || !PEM_write_bio_X509(certBio.get(), x509.get())
        || !PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        return failWith(opensslError("self-signed certificate: PEM encoding failed"));

    SelfSignedCertificate result;
    result.certificate = QSslCertificate(toPem(certBio.get()), QSsl::Pem);
    result.privateKey = QSslKey(toPem(keyBio.get()), rsa ? QSsl::Rsa : QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    if (result.certificate.isNull() || result.privateKey.isNull())
        return failWith(QStringLiteral("self-signed certificate: Qt could not read the generated PEM"));
    result.fingerprint = sha256Fingerprint(result.certificate);
    return result;
}

} // namespace qws
