// SPDX-License-Identifier: BSD-3-Clause
// Test-only helpers for the QML tests: a C++ QWebSocket client QML can drive (origin, subprotocols,
// pinned wss, close codes), and certificate generation with the openssl tool.
#pragma once

#include <QtCore/QObject>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtCore/QUrl>
#include <QtCore/QVariantMap>
#include <QtWebSockets/QWebSocket>

#include <memory>

/// A real, independent client (Qt's QWebSocket). QML type QwsTest.TestClient.
class TestClient : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QUrl url MEMBER m_url NOTIFY changed)
    Q_PROPERTY(QString origin MEMBER m_origin NOTIFY changed)
    Q_PROPERTY(QStringList subprotocols MEMBER m_subprotocols NOTIFY changed)
    /// wss: accept the server's certificate only if its SHA-256 fingerprint is this ("AB:CD:…").
    Q_PROPERTY(QString pinnedFingerprint MEMBER m_pinned NOTIFY changed)
    /// wss: present this client certificate and key (PEM file paths).
    Q_PROPERTY(QString clientCertificate MEMBER m_clientCertificate NOTIFY changed)
    Q_PROPERTY(QString clientKey MEMBER m_clientKey NOTIFY changed)
    /// wss with TLS-PSK only (TLS 1.2 PSK suites): this identity and key (key as UTF-8 text).
    Q_PROPERTY(QString pskIdentity MEMBER m_pskIdentity NOTIFY changed)
    Q_PROPERTY(QString pskKey MEMBER m_pskKey NOTIFY changed)
    Q_PROPERTY(QString pskIdentityHint READ pskIdentityHint NOTIFY changed)
    Q_PROPERTY(bool connected READ isConnected NOTIFY changed)
    Q_PROPERTY(bool finished READ isFinished NOTIFY changed)
    Q_PROPERTY(int closeCode READ closeCode NOTIFY changed)
    Q_PROPERTY(QString closeReason READ closeReason NOTIFY changed)
    Q_PROPERTY(QString subprotocol READ subprotocol NOTIFY changed)
    Q_PROPERTY(QString peerFingerprint READ peerFingerprint NOTIFY changed)
    Q_PROPERTY(QString errorString READ errorString NOTIFY changed)
    Q_PROPERTY(QStringList received READ received NOTIFY changed)
    Q_PROPERTY(int binaryCount READ binaryCount NOTIFY changed)
    Q_PROPERTY(QByteArray lastBinary READ lastBinary NOTIFY changed)
    Q_PROPERTY(int pongCount READ pongCount NOTIFY changed)
public:
    explicit TestClient(QObject *parent = nullptr);

    bool isConnected() const { return m_connected; }
    bool isFinished() const { return m_finished; }
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }
    QString subprotocol() const { return m_subprotocol; }
    QString peerFingerprint() const { return m_peerFingerprint; }
    QString errorString() const { return m_errorString; }
    QStringList received() const { return m_received; }
    int binaryCount() const { return m_binaryCount; }
    QByteArray lastBinary() const { return m_lastBinary; }
    int pongCount() const { return m_pongCount; }
    QString pskIdentityHint() const { return m_pskIdentityHint; }

    Q_INVOKABLE void open();
    Q_INVOKABLE void sendText(const QString &text);
    Q_INVOKABLE void sendBinary(const QByteArray &data);
    Q_INVOKABLE void ping();
    Q_INVOKABLE void close(int code = 1000, const QString &reason = QString());
    Q_INVOKABLE void abort();

Q_SIGNALS:
    void changed();

private:
    std::unique_ptr<QWebSocket> m_socket;
    QUrl m_url;
    QString m_origin;
    QStringList m_subprotocols;
    QString m_pinned;
    QString m_clientCertificate;
    QString m_clientKey;
    QString m_pskIdentity;
    QString m_pskKey;
    QString m_pskIdentityHint;
    bool m_connected = false;
    bool m_finished = false;
    int m_closeCode = 0;
    QString m_closeReason;
    QString m_subprotocol;
    QString m_peerFingerprint;
    QString m_errorString;
    QStringList m_received;
    int m_binaryCount = 0;
    QByteArray m_lastBinary;
    int m_pongCount = 0;
};

/// QML singleton QwsTest.Helper: files and process-level tools for tests.
class TestHelper : public QObject
{
    Q_OBJECT
public:
    ~TestHelper() override;
    /// A fresh self-signed certificate + key (openssl req): {certificate, privateKey, fingerprint}
    /// as local paths and "AB:CD:…"; an empty map if openssl failed.
    Q_INVOKABLE QVariantMap makeCertificate(const QString &commonName = QStringLiteral("localhost"));
    /// A path inside the helper's temporary directory holding `text`.
    Q_INVOKABLE QString writeFile(const QString &name, const QString &text);
    /// A TCP port that something else (this helper) is listening on, to provoke "address in use".
    Q_INVOKABLE int occupiedPort();
    /// Starts an independent process (killed when the helper goes); false if it did not start.
    Q_INVOKABLE bool startProcess(const QString &program, const QStringList &arguments);
    /// Lowers this process's soft RLIMIT_NOFILE to just above its highest open descriptor and fills
    /// the free numbers below it, so the next accept() fails with EMFILE; restoreOpenFiles() undoes it. False if it failed.
    Q_INVOKABLE bool exhaustOpenFiles();
    Q_INVOKABLE void restoreOpenFiles();
    /// A path in the helper's temporary directory (the file is not created).
    Q_INVOKABLE QString tempPath(const QString &name) const { return m_dir.filePath(name); }
    /// Blocks this (the GUI) thread until `path` exists or `timeoutMs` passed, so that engine
    /// threads and other processes run ahead of it. Returns whether the file appeared.
    Q_INVOKABLE bool blockGuiThreadUntilFile(const QString &path, int timeoutMs);

private:
    QTemporaryDir m_dir;
    int m_serial = 0;
    quint64 m_savedFileLimit = 0;
    QList<int> m_fillers; // descriptors that fill the holes below the lowered limit
};
