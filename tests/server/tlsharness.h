// SPDX-License-Identifier: BSD-3-Clause
// Drives a qws::TlsTransport the way an epoll worker does (poll + non-blocking calls) on its own thread,
// on a socket accepted from a loopback listener, so real TLS clients can be pointed at it.
#pragma once

#include <server/tls_p.h>
#include <server/worker_p.h>

#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QMutexLocker>
#include <QtNetwork/QSslError>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace qws::test {

using Status = Transport::Status;

inline const char *statusName(Status s)
{
    switch (s) {
    case Status::Ok: return "Ok";
    case Status::WantRead: return "WantRead";
    case Status::WantWrite: return "WantWrite";
    case Status::Closed: return "Closed";
    case Status::Failed: return "Failed";
    }
    return "?";
}

/// Records what the TLS layer reports, like WebSocketServerPrivate would (any thread).
class RecordingEvents : public TlsEvents
{
public:
    void sslErrors(const QList<QSslError> &errors) override
    {
        QMutexLocker lock(&m_mutex);
        m_sslErrors << errors;
    }
    void peerVerifyError(const QSslError &error) override
    {
        QMutexLocker lock(&m_mutex);
        m_peerVerifyErrors << error;
    }
    void preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator) override
    {
        if (pskHandler)
            pskHandler(authenticator);
    }
    QList<QList<QSslError>> sslErrorsEmitted() const { QMutexLocker lock(&m_mutex); return m_sslErrors; }
    QList<QSslError> peerVerifyErrorsEmitted() const { QMutexLocker lock(&m_mutex); return m_peerVerifyErrors; }

    std::function<void(QSslPreSharedKeyAuthenticator *)> pskHandler;

private:
    mutable QMutex m_mutex;
    QList<QList<QSslError>> m_sslErrors;
    QList<QSslError> m_peerVerifyErrors;
};

/// A loopback listener on 127.0.0.1:0. Returns the fd (port in *port) or -1.
inline int listenLoopback(quint16 *port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0 || ::listen(fd, 8) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        if (fd >= 0)
            ::close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

/// A blocking client socket connected to 127.0.0.1:port, or -1.
inline int connectLoopback(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0)
        return fd;
    if (fd >= 0)
        ::close(fd);
    return -1;
}

/// Waits (poll) until the status' wish is granted or the deadline passes; false on timeout.
inline bool waitFor(int fd, Status status, std::chrono::steady_clock::time_point deadline,
                    const std::atomic<bool> *stop = nullptr)
{
    pollfd p{fd, short(status == Status::WantWrite ? POLLOUT : POLLIN), 0};
    while (std::chrono::steady_clock::now() < deadline && !(stop && stop->load())) {
        if (::poll(&p, 1, 20) > 0)
            return true;
    }
    return false;
}

struct PeerResult {
    bool accepted = false;
    Status handshake = Status::WantRead;  ///< final status of handshake()
    Status end = Status::WantRead;        ///< what ended the echo loop (Closed / Failed)
    QString handshakeError, endError;
    QList<QSslError> verifyErrors;
    QSslCertificate peerCertificate;
    QSsl::SslProtocol protocol = QSsl::UnknownProtocol;
    QString cipher;
    QByteArray alpn, pskIdentity, received;
    bool encrypted = false;
};

/// Accepts one connection, runs the TLS handshake, then echoes every byte until the peer closes.
/// With closeAfter >= 0, the peer shuts down (close_notify) once that many bytes were echoed.
class EchoPeer
{
public:
    explicit EchoPeer(TlsContext &context, qint64 closeAfter = -1)
        : m_context(context), m_closeAfter(closeAfter)
    {
        m_listenFd = listenLoopback(&m_port);
        m_thread = std::thread([this] { run(); });
    }
    ~EchoPeer()
    {
        m_stop = true;
        m_thread.join();
        if (m_listenFd >= 0)
            ::close(m_listenFd);
    }
    quint16 port() const { return m_port; }
    bool finished() const { return m_finished.load(); }
    /// Only once finished() (the thread wrote it before setting the flag).
    const PeerResult &result() const { return m_result; }

private:
    void run()
    {
        using namespace std::chrono;
        PeerResult &r = m_result;
        const auto deadline = steady_clock::now() + seconds(20);
        if (m_listenFd < 0 || !waitFor(m_listenFd, Status::WantRead, deadline, &m_stop)) {
            m_finished = true;
            return;
        }
        const int fd = ::accept4(m_listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        r.accepted = fd >= 0;
        TlsTransport transport(fd, m_context);
        Status s;
        while ((s = transport.handshake()) == Status::WantRead || s == Status::WantWrite) {
            if (!waitFor(fd, s, deadline, &m_stop))
                break;
        }
        r.handshake = s;
        r.handshakeError = transport.errorString();
        r.verifyErrors = transport.peerVerificationErrors();
        r.peerCertificate = transport.peerCertificate();
        r.protocol = transport.sessionProtocol();
        r.cipher = transport.sessionCipherName();
        r.alpn = transport.alpnProtocol();
        r.pskIdentity = transport.pskIdentity();
        r.encrypted = transport.isEncrypted();
        if (s == Status::Ok)
            r.end = echo(transport, deadline);
        r.endError = transport.errorString();
        m_finished = true;
    }

    Status echo(TlsTransport &transport, std::chrono::steady_clock::time_point deadline)
    {
        QByteArray out;
        char buffer[8192];
        bool peerClosed = false, shut = false;
        while (std::chrono::steady_clock::now() < deadline && !m_stop) {
            Status rs = Status::WantRead;
            if (!peerClosed) {
                std::size_t n = 0;
                while ((rs = transport.read(buffer, sizeof buffer, n)) == Status::Ok) {
                    m_result.received.append(buffer, qsizetype(n));
                    out.append(buffer, qsizetype(n));
                }
                if (rs == Status::Failed)
                    return rs;
                peerClosed = rs == Status::Closed;
            }
            Status ws = Status::Ok;
            while (!out.isEmpty()) {  // three iovecs per call, to exercise the gather path
                const qsizetype a = out.size() / 3, b = out.size() / 3;
                iovec iov[3] = {{out.data(), size_t(a)}, {out.data() + a, size_t(b)},
                                {out.data() + a + b, size_t(out.size() - a - b)}};
                std::size_t n = 0;
                if ((ws = transport.write(iov, 3, n)) != Status::Ok)
                    break;
                out.remove(0, qsizetype(n));
            }
            if (ws == Status::Failed)
                return ws;
            const bool done = m_closeAfter >= 0 && m_result.received.size() >= m_closeAfter;
            if (out.isEmpty() && (peerClosed || done) && !shut) {
                transport.shutdown();
                shut = true;
            }
            if (peerClosed && out.isEmpty())
                return Status::Closed;
            pollfd p{transport.fd(), short((peerClosed ? 0 : POLLIN) | (out.isEmpty() ? 0 : POLLOUT)), 0};
            ::poll(&p, 1, 20);
        }
        return Status::WantRead;  // timed out
    }

    TlsContext &m_context;
    qint64 m_closeAfter;
    int m_listenFd = -1;
    quint16 m_port = 0;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_finished{false};
    PeerResult m_result;
};

} // namespace qws::test
