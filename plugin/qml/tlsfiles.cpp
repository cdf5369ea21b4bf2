// SPDX-License-Identifier: BSD-3-Clause
// Value checks and TLS material for the WebSocketServer element: files in, QSslConfiguration out.
#include "qmlwebsocketserver_p.h"

#include "selfsigned_p.h"

#include <QtCore/QFile>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslSocket>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace qws {

std::optional<QHostAddress> parseHost(const QString &host)
{
    if (host.isEmpty())
        return QHostAddress(QHostAddress::Any);
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return QHostAddress(QHostAddress::LocalHost);
    QHostAddress address;
    if (!address.setAddress(host))
        return std::nullopt;
    return address;
}

bool isToken(const QString &text)
{
    if (text.isEmpty())
        return false;
    const QLatin1String specials("!#$%&'*+-.^_`|~");
    for (QChar c : text) {
        const char16_t u = c.unicode();
        const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
        if (!alnum && (u > 0x7f || !specials.contains(c)))
            return false;
    }
    return true;
}

bool isLocalFileUrl(const QUrl &url)
{
    return url.isEmpty() || url.scheme().isEmpty() || url.isLocalFile()
            || url.scheme() == QLatin1String("qrc");
}

QString localFileName(const QUrl &url)
{
    if (url.scheme() == QLatin1String("qrc"))
        return QLatin1Char(':') + url.path();
    if (url.isLocalFile())
        return url.toLocalFile();
    return url.toString(QUrl::PreferLocalFile);
}

namespace {

bool readFile(const QUrl &url, const char *what, QByteArray &data, QString &error)
{
    QFile file(localFileName(url));
    if (!file.open(QIODevice::ReadOnly)) {
        error = QStringLiteral("Cannot read the %1 file %2: %3")
                        .arg(QLatin1String(what), file.fileName(), file.errorString());
        return false;
    }
    data = file.readAll();
    return true;
}

struct BioDeleter { void operator()(BIO *b) const { BIO_free(b); } };
struct X509Deleter { void operator()(X509 *x) const { X509_free(x); } };
struct PkeyDeleter { void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); } };

/// X509_check_private_key: does the key's public half match the certificate's?
bool keyMatches(const QSslCertificate &certificate, const QByteArray &keyPem)
{
    const QByteArray der = certificate.toDer();
    const auto *p = reinterpret_cast<const unsigned char *>(der.constData());
    std::unique_ptr<X509, X509Deleter> x509(d2i_X509(nullptr, &p, long(der.size())));
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())));
    if (!x509 || !bio)
        return false;
    std::unique_ptr<EVP_PKEY, PkeyDeleter> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    return key && X509_check_private_key(x509.get(), key.get()) == 1;
}

} // namespace

TlsMaterial loadTlsFiles(const QUrl &certificateUrl, const QUrl &privateKeyUrl)
{
    TlsMaterial tls;
    if (certificateUrl.isEmpty() || privateKeyUrl.isEmpty()) {
        tls.error = QStringLiteral("Secure mode needs both certificate and privateKey, or neither "
                                   "(then a self-signed certificate is generated)");
        return tls;
    }
    QByteArray certData, keyData;
    if (!readFile(certificateUrl, "certificate", certData, tls.error)
        || !readFile(privateKeyUrl, "private key", keyData, tls.error))
        return tls;

    QList<QSslCertificate> chain = QSslCertificate::fromData(certData, QSsl::Pem);
    if (chain.isEmpty())
        chain = QSslCertificate::fromData(certData, QSsl::Der);
    if (chain.isEmpty() || chain.first().isNull()) {
        tls.error = QStringLiteral("%1 holds no PEM or DER certificate").arg(localFileName(certificateUrl));
        return tls;
    }

    QSslKey key;
    for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
        key = QSslKey(keyData, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            break;
    }
    if (key.isNull()) {
        tls.error = QStringLiteral("%1 holds no unencrypted PEM private key (RSA, EC or DSA)")
                            .arg(localFileName(privateKeyUrl));
        return tls;
    }
    if (!keyMatches(chain.first(), keyData)) {
        tls.error = QStringLiteral("The private key %1 does not match the certificate %2")
                            .arg(localFileName(privateKeyUrl), localFileName(certificateUrl));
        return tls;
    }

    tls.configuration = QSslConfiguration::defaultConfiguration();
    tls.configuration.setLocalCertificateChain(chain);
    tls.configuration.setPrivateKey(key);
    tls.configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    tls.fingerprint = sha256Fingerprint(chain.first());
    return tls;
}

bool applyPeerVerification(TlsMaterial &tls, int peerVerifyMode, const QUrl &caCertificates)
{
    tls.configuration.setPeerVerifyMode(QSslSocket::PeerVerifyMode(peerVerifyMode));
    if (caCertificates.isEmpty())
        return true;
    QByteArray data;
    if (!readFile(caCertificates, "CA certificates", data, tls.error))
        return false;
    const QList<QSslCertificate> authorities = QSslCertificate::fromData(data, QSsl::Pem);
    if (authorities.isEmpty()) {
        tls.error = QStringLiteral("%1 holds no PEM certificate").arg(localFileName(caCertificates));
        return false;
    }
    tls.configuration.setCaCertificates(authorities);
    return true;
}

TlsMaterial generateTlsMaterial()
{
    TlsMaterial tls;
    QString error;
    const SelfSignedCertificate generated = generateSelfSignedCertificate({}, &error);
    if (generated.isNull()) {
        tls.error = QStringLiteral("Generating a self-signed certificate failed: %1").arg(error);
        return tls;
    }
    tls.configuration = QSslConfiguration::defaultConfiguration();
    tls.configuration.setLocalCertificate(generated.certificate);
    tls.configuration.setPrivateKey(generated.privateKey);
    tls.configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    tls.fingerprint = generated.fingerprint;
    return tls;
}

} // namespace qws
