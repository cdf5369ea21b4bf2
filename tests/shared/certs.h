// SPDX-License-Identifier: BSD-3-Clause
// Test certificates made at test time with the openssl CLI, in a temporary directory: self-signed
// pairs, a CA with leaves it signed (server and client), and keys that match nothing.
#pragma once

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslKey>

namespace qws::test {

/// A certificate and its key, as files and as Qt objects.
struct CertKey {
    QString certPath;
    QString keyPath;
    QSslCertificate certificate;
    QSslKey key;

    bool isNull() const { return certificate.isNull() || key.isNull(); }
};

/// Everything lives in one QTemporaryDir, removed with the object. Each function returns a null
/// CertKey (and sets error()) when openssl fails; tests QVERIFY2(!x.isNull(), qPrintable(error())).
class TestCertificates
{
public:
    bool isValid() const { return m_dir.isValid(); }
    QString error() const { return m_error; }
    QString path(const QString &file) const { return m_dir.filePath(file); }

    /// Runs `openssl args…` in the directory; false (and error()) unless it exits with 0.
    bool openssl(const QStringList &args)
    {
        QProcess process;
        process.setWorkingDirectory(m_dir.path());
        process.start(QStringLiteral("openssl"), args);
        if (!process.waitForFinished(30000) || process.exitStatus() != QProcess::NormalExit
            || process.exitCode() != 0) {
            m_error = QStringLiteral("openssl %1 failed: %2 %3")
                          .arg(args.join(u' '), process.errorString(),
                               QString::fromLocal8Bit(process.readAllStandardError()));
            return false;
        }
        return true;
    }

    /// `openssl req -x509` with an EC P-256 key, valid 2 days, SAN DNS:localhost, IP:127.0.0.1.
    CertKey selfSigned(const QString &name, const QString &commonName = QStringLiteral("localhost"))
    {
        const QString cert = path(name + QStringLiteral(".pem")), key = path(name + QStringLiteral(".key"));
        if (!openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-days", "2", "-subj", "/CN=" + commonName, "-addext",
                      "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert}))
            return CertKey();
        return load(cert, key);
    }

    /// A CA certificate (basicConstraints CA:TRUE, keyCertSign) with its key.
    CertKey ca(const QString &name, const QString &commonName = QStringLiteral("QuickWebSockets Test CA"))
    {
        const QString cert = path(name + QStringLiteral(".pem")), key = path(name + QStringLiteral(".key"));
        if (!openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-days", "2", "-subj", "/CN=" + commonName, "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", key, "-out", cert}))
            return CertKey();
        return load(cert, key);
    }

    /// A leaf signed by `issuer`, usable for serverAuth and clientAuth, SAN DNS:localhost, IP:127.0.0.1.
    CertKey leaf(const QString &name, const CertKey &issuer, const QString &commonName = QStringLiteral("localhost"))
    {
        const QString cert = path(name + QStringLiteral(".pem")), key = path(name + QStringLiteral(".key"));
        const QString csr = path(name + QStringLiteral(".csr")), ext = path(name + QStringLiteral(".ext"));
        QFile extFile(ext);
        if (!extFile.open(QIODevice::WriteOnly)) {
            m_error = QStringLiteral("cannot write ") + ext;
            return CertKey();
        }
        extFile.write("basicConstraints=critical,CA:FALSE\n"
                      "keyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=serverAuth,clientAuth\n"
                      "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        extFile.close();
        const QString serial = QString::number(QRandomGenerator::global()->bounded(1, 1 << 30));
        if (!openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-subj", "/CN=" + commonName, "-keyout", key, "-out", csr})
            || !openssl({"x509", "-req", "-in", csr, "-CA", issuer.certPath, "-CAkey", issuer.keyPath,
                         "-set_serial", serial, "-days", "2", "-sha256", "-extfile", ext, "-out", cert}))
            return CertKey();
        return load(cert, key);
    }

    /// An EC P-256 private key that belongs to no certificate.
    QSslKey unrelatedKey(const QString &name)
    {
        const QString key = path(name + QStringLiteral(".key"));
        if (!openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key}))
            return {};
        return readKey(key, QSsl::Ec);
    }

    /// An RSA 2048 private key that belongs to no certificate.
    QSslKey unrelatedRsaKey(const QString &name)
    {
        const QString key = path(name + QStringLiteral(".key"));
        if (!openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key}))
            return {};
        return readKey(key, QSsl::Rsa);
    }

    static QByteArray readFile(const QString &file)
    {
        QFile f(file);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

    static QSslKey readKey(const QString &file, QSsl::KeyAlgorithm algorithm = QSsl::Ec)
    {
        return QSslKey(readFile(file), algorithm, QSsl::Pem, QSsl::PrivateKey);
    }

private:
    CertKey load(const QString &cert, const QString &key)
    {
        CertKey result{cert, key, QSslCertificate(readFile(cert), QSsl::Pem), readKey(key)};
        if (result.isNull())
            m_error = QStringLiteral("Qt cannot read %1 / %2").arg(cert, key);
        return result;
    }

    QTemporaryDir m_dir;
    QString m_error;
};

} // namespace qws::test
