// SPDX-License-Identifier: BSD-3-Clause
// A self-signed certificate generated at run time (secure mode in QML with no certificate given).
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

namespace qws {

struct SelfSignedOptions {
    enum class KeyType {
        EcP256,   ///< ECDSA on prime256v1 (default: generated in well under a millisecond)
        Rsa2048,  ///< RSA 2048 (slower to generate: tens to hundreds of milliseconds)
    };
    QString commonName = QStringLiteral("localhost");
    QString organization = QStringLiteral("QuickWebSockets");
    QStringList dnsNames = {QStringLiteral("localhost")};
    QList<QHostAddress> ipAddresses = {QHostAddress(QHostAddress::LocalHost),
                                       QHostAddress(QHostAddress::LocalHostIPv6)};
    int validityDays = 365;
    KeyType keyType = KeyType::EcP256;
};

struct SelfSignedCertificate {
    /// X.509 v3, self-issued, SHA-256 signature; notBefore one hour in the past (clock skew),
    /// notAfter validityDays from now; basicConstraints CA:FALSE, extendedKeyUsage serverAuth,
    /// subjectAltName from the options, subject and authority key identifiers, no keyUsage (so
    /// that isSelfSigned() is true); a random positive 127-bit serial number.
    QSslCertificate certificate;
    QSslKey privateKey;
    /// SHA-256 of the DER certificate as 32 upper-case hex pairs joined by ':' (95 characters,
    /// "AB:CD:…:EF"): the same value as sha256Fingerprint(certificate), and as what browsers and
    /// `openssl x509 -noout -fingerprint -sha256` print after "sha256 Fingerprint=".
    QString fingerprint;

    bool isNull() const { return certificate.isNull() || privateKey.isNull(); }
};

/// Generates a key pair and a certificate for it. Returns a null result and sets *error on failure.
SelfSignedCertificate generateSelfSignedCertificate(const SelfSignedOptions &options = {},
                                                    QString *error = nullptr);

/// QSslCertificate::digest(QCryptographicHash::Sha256) in the "AB:CD:…" format above.
QString sha256Fingerprint(const QSslCertificate &certificate);

} // namespace qws
