// SPDX-License-Identifier: BSD-3-Clause
// Internals of the WebSocketServer element shared by its .cpp files.
//
//  W A R N I N G  — private header of the QML adapter, not installed.
#pragma once

#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QStringList>
#include <QtCore/QUrl>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QSslConfiguration>

#include <atomic>
#include <optional>

namespace qws {

Q_DECLARE_LOGGING_CATEGORY(lcQmlServer)

/// State the engine-thread origin/PSK handlers read. Shared (std::shared_ptr) so that it outlives
/// the element while an engine thread is still inside a handler.
struct OriginPolicy {
    QMutex mutex;
    QStringList allowedOrigins;          // guarded by mutex
    std::atomic<int> originHandlers{0};  // QML connections to originAuthenticationRequired
    std::atomic<int> pskHandlers{0};     // QML connections to preSharedKeyAuthenticationRequired
    std::atomic<int> timeoutMs{10000};   // how long an engine thread waits for a QML answer

    /// Called on engine threads: true when `origin` passes the allow-list (empty list: all pass).
    bool originAllowed(const QString &origin);
};

/// "" → Any, "localhost" → LocalHost, an IPv4/IPv6 literal → itself; nullopt when unparsable.
std::optional<QHostAddress> parseHost(const QString &host);
/// An HTTP token (RFC 9110 §5.6.2): 1+ tchars.
bool isToken(const QString &text);
/// An empty URL, a path, or a file:/qrc: URL.
bool isLocalFileUrl(const QUrl &url);
/// The QFile name for a file URL or path ("qrc:/x" → ":/x").
QString localFileName(const QUrl &url);

/// The TLS material of a secure server, loaded from files or generated.
struct TlsMaterial {
    QSslConfiguration configuration;
    QString fingerprint; // SHA-256, "AB:CD:…"
    QString error;       // empty on success
};
/// Reads a PEM/DER certificate chain and a PEM private key and checks that they belong together.
TlsMaterial loadTlsFiles(const QUrl &certificate, const QUrl &privateKey);
/// Adds the peer verification settings (mode, CA certificates from a PEM file) to `tls`; false
/// with tls.error set if the file cannot be used.
bool applyPeerVerification(TlsMaterial &tls, int peerVerifyMode, const QUrl &caCertificates);
/// A self-signed certificate for localhost and 127.0.0.1/::1 (the engine's generator), or an error.
TlsMaterial generateTlsMaterial();

} // namespace qws
