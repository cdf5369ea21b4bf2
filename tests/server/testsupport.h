// SPDX-License-Identifier: BSD-3-Clause
// Helpers for the engine tests: an echo installer, a raw POSIX client, external client processes.
#pragma once

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QByteArray>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QString>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace testsupport {

/// Every connection of `server` is taken and echoes what it receives; sockets delete themselves.
inline void installEcho(qws::WebSocketServer &server)
{
    QObject::connect(&server, &qws::WebSocketServer::newConnection, &server, [&server] {
        while (qws::WebSocket *socket = server.nextPendingConnection()) {
            QObject::connect(socket, &qws::WebSocket::textMessageReceived, socket,
                             [socket](const QString &m) { socket->sendTextMessage(m); });
            QObject::connect(socket, &qws::WebSocket::binaryMessageReceived, socket,
                             [socket](const QByteArray &m) { socket->sendBinaryMessage(m); });
            QObject::connect(socket, &qws::WebSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

/// An HTTP/1.1 upgrade request as a browser would send it.
inline QByteArray upgradeRequest(const QByteArray &path = "/", const QByteArray &extraHeaders = {})
{
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           + extraHeaders + "\r\n";
}

/// A blocking POSIX TCP client on 127.0.0.1 that reads only when told to: a peer that stalls, or
/// never reads, exactly as a test needs (a QTcpSocket would read behind the test's back).
class RawClient
{
public:
    ~RawClient() { close(); }
    bool connectTo(quint16 port, int receiveBuffer = 0)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (receiveBuffer > 0)
            ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return ::connect(m_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
    }
    bool send(const QByteArray &bytes)
    {
        return ::send(m_fd, bytes.constData(), size_t(bytes.size()), MSG_NOSIGNAL) == bytes.size();
    }
    /// Reads until `marker` was seen, EOF, or the timeout; returns everything read.
    QByteArray readUntil(const QByteArray &marker, int timeoutMs = 5000)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (!m_buffer.contains(marker) && !m_eof && !deadline.hasExpired())
            readOnce(int(qMax<qint64>(1, deadline.remainingTime())));
        return m_buffer;
    }
    /// Reads until the server closes the connection (EOF or reset); false on timeout.
    bool waitForClose(int timeoutMs = 5000)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (!m_eof && !deadline.hasExpired())
            readOnce(int(qMax<qint64>(1, deadline.remainingTime())));
        return m_eof;
    }
    QByteArray buffer() const { return m_buffer; }
    /// Forgets what was read so far (the next readUntil() looks at new bytes only).
    void clear() { m_buffer.clear(); }
    int fd() const { return m_fd; }
    void close()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }

private:
    void readOnce(int timeoutMs)
    {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, timeoutMs) <= 0)
            return;
        char chunk[65536];
        const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            m_eof = true;
        else
            m_buffer.append(chunk, n);
    }
    int m_fd = -1;
    bool m_eof = false;
    QByteArray m_buffer;
};

/// A masked client frame (RFC 6455 §5.3), for raw clients.
inline QByteArray clientFrame(quint8 opcode, const QByteArray &payload, bool fin = true)
{
    QByteArray frame;
    frame.append(char((fin ? 0x80 : 0) | opcode));
    const quint8 mask[4] = {0x11, 0x22, 0x33, 0x44};
    if (payload.size() < 126) {
        frame.append(char(0x80 | payload.size()));
    } else if (payload.size() < 65536) {
        frame.append(char(0x80 | 126)).append(char(payload.size() >> 8)).append(char(payload.size() & 0xff));
    } else {
        frame.append(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            frame.append(char((quint64(payload.size()) >> (8 * i)) & 0xff));
    }
    frame.append(reinterpret_cast<const char *>(mask), 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload[i] ^ mask[i % 4]));
    return frame;
}

/// Connects `raw` (its receive buffer `receiveBuffer` bytes when > 0), completes the opening handshake
/// (`extraHeaders` added to the request) and takes the server's WebSocket; null on failure. The
/// server's 101 response is left in raw.buffer().
inline qws::WebSocket *acceptRaw(qws::WebSocketServer &server, RawClient &raw, int receiveBuffer = 0,
                                 const QByteArray &extraHeaders = {})
{
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    if (!raw.connectTo(server.serverPort(), receiveBuffer) || !raw.send(upgradeRequest("/", extraHeaders))
        || !raw.readUntil("\r\n\r\n").startsWith("HTTP/1.1 101"))
        return nullptr;
    if (!QTest::qWaitFor([&] { return !newConnection.isEmpty(); }, 5000))
        return nullptr;
    return server.nextPendingConnection();
}

/// Debian's python3 (with python3-websockets), not a pyenv one from PATH.
inline QString python() { return QStringLiteral("/usr/bin/python3"); }
inline QString clientScript(const QString &name) { return QStringLiteral(QWS_CLIENTS_DIR "/") + name; }

/// Starts an external client: python3 <script> or node <script> (NODE_PATH=/usr/share/nodejs).
inline void startClient(QProcess &process, const QString &script, const QStringList &arguments)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("NODE_PATH"), QStringLiteral("/usr/share/nodejs"));
    environment.insert(QStringLiteral("PYTHONUNBUFFERED"), QStringLiteral("1"));
    process.setProcessEnvironment(environment);
    const bool node = script.endsWith(QLatin1String(".js"));
    process.start(node ? QStringLiteral("node") : python(), QStringList{clientScript(script)} + arguments);
}

/// Resident memory of this process in KiB (/proc/self/status VmRSS).
inline qint64 residentKiB()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').constFirst().toLongLong();
    }
    return -1;
}

} // namespace testsupport
