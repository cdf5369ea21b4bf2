// SPDX-License-Identifier: BSD-3-Clause
// The application going away with messages queued (issue #6): a child process (shutdownhelper.cpp)
// queues thousands of messages to raw clients and then quits its QCoreApplication, or destroys its
// server. Every client must receive every message, in order, then a 1001 close frame; the child exits 0.
#include "testsupport.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QProcess>
#include <QtTest/QTest>

#include <memory>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

using namespace testsupport;

class tst_Shutdown : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void queuedMessagesThen1001_data();
    void queuedMessagesThen1001();
};

namespace {
struct ServerFrame {
    quint8 opcode = 0;
    QByteArray payload;
};

/// The server's (unmasked) frames after the 101 response; `complete` is false when bytes were left over.
std::vector<ServerFrame> parseFrames(const QByteArray &received, bool &complete)
{
    std::vector<ServerFrame> frames;
    const qsizetype start = received.indexOf("\r\n\r\n");
    complete = start >= 0;
    if (start < 0)
        return frames;
    const QByteArray bytes = received.mid(start + 4);
    qsizetype at = 0;
    while (at + 2 <= bytes.size()) {
        qint64 length = quint8(bytes[at + 1]) & 0x7f;
        qsizetype header = 2;
        if (length == 126) {
            if (at + 4 > bytes.size())
                break;
            length = (quint8(bytes[at + 2]) << 8) | quint8(bytes[at + 3]);
            header = 4;
        } else if (length == 127) {
            if (at + 10 > bytes.size())
                break;
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | quint8(bytes[at + 2 + i]);
            header = 10;
        }
        if (at + header + length > bytes.size())
            break;
        frames.push_back({quint8(quint8(bytes[at]) & 0x0f), bytes.mid(at + header, length)});
        at += header + length;
    }
    complete = complete && at == bytes.size();
    return frames;
}

/// Reads every client at once until each sees EOF (or reset) or the deadline passes: a client read
/// only after another finished could stall the server's writes to it.
bool readAllUntilClosed(std::vector<std::unique_ptr<RawClient>> &clients, std::vector<QByteArray> &received,
                        int timeoutMs)
{
    received.assign(clients.size(), QByteArray());
    std::vector<bool> open(clients.size(), true);
    QElapsedTimer timer;
    timer.start();
    auto anyOpen = [&] { return std::find(open.begin(), open.end(), true) != open.end(); };
    while (anyOpen() && timer.elapsed() < timeoutMs) {
        std::vector<pollfd> fds;
        std::vector<std::size_t> index;
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (open[i]) {
                fds.push_back({clients[i]->fd(), POLLIN, 0});
                index.push_back(i);
            }
        }
        if (::poll(fds.data(), fds.size(), 100) <= 0)
            continue;
        for (std::size_t k = 0; k < fds.size(); ++k) {
            if (!fds[k].revents)
                continue;
            char chunk[65536];
            const ssize_t n = ::recv(fds[k].fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                open[index[k]] = false;
            else
                received[index[k]].append(chunk, n);
        }
    }
    return !anyOpen();
}

QString helperPath()
{
    return QCoreApplication::applicationDirPath() + QStringLiteral("/qws_shutdown_helper");
}
} // namespace

void tst_Shutdown::queuedMessagesThen1001_data()
{
    QTest::addColumn<QString>("mode");
    // 4 clients × 8000 × 1 KiB: 8 MiB each (under the 16 MiB outbound limit), about twice what the
    // loopback socket buffers take while a client does not read (measured: ~4.2 MB), so half of it is
    // still queued in the engine when the application goes away.
    QTest::newRow("QCoreApplication::quit() with messages queued") << QStringLiteral("quit");
    QTest::newRow("server destroyed with messages queued") << QStringLiteral("destroy");
}

void tst_Shutdown::queuedMessagesThen1001()
{
    QFETCH(QString, mode);
    constexpr int kClients = 4;
    constexpr int kMessages = 8000;
    constexpr int kBytes = 1024;
    QProcess helper;
    helper.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    helper.start(helperPath(), {mode, QString::number(kClients), QString::number(kMessages), QString::number(kBytes)});
    QVERIFY2(helper.waitForStarted(10000), qPrintable(helper.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(helper.canReadLine(), 20000);
    const QByteArray line = helper.readLine().trimmed();
    QVERIFY2(line.startsWith("port "), line.constData());
    const quint16 port = quint16(line.mid(5).toUInt());

    std::vector<std::unique_ptr<RawClient>> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(std::make_unique<RawClient>());
        QVERIFY(clients.back()->connectTo(port));
        QVERIFY(clients.back()->send(upgradeRequest()));
    }
    // The clients read nothing until everything is queued and the application is going away: the
    // engine has to keep writing after quit()/delete, not just hand the kernel what fits at once.
    QTRY_VERIFY_WITH_TIMEOUT(helper.canReadLine(), 30000);
    QCOMPARE(helper.readLine().trimmed(), QByteArray("queued"));
    std::vector<QByteArray> received;
    QVERIFY2(readAllUntilClosed(clients, received, 60000), "a client was never closed by the server");

    for (int c = 0; c < kClients; ++c) {
        QVERIFY2(received[c].startsWith("HTTP/1.1 101"), received[c].left(60).constData());
        bool complete = false;
        const std::vector<ServerFrame> frames = parseFrames(received[c], complete);
        QVERIFY2(complete, "bytes after the last whole frame: a frame was cut off");
        int texts = 0;
        for (const ServerFrame &f : frames) {
            if (f.opcode != 0x1)
                break;
            const QByteArray expected = QByteArray::number(texts) + ':';
            QVERIFY2(f.payload.startsWith(expected) && f.payload.size() == kBytes,
                     qPrintable(QStringLiteral("client %1: message %2 out of order or damaged").arg(c).arg(texts)));
            ++texts;
        }
        QCOMPARE(texts, kMessages);   // all of them, nothing after a gap
        QCOMPARE(frames.size(), std::size_t(kMessages + 1));
        const ServerFrame &close = frames.back();
        QCOMPARE(close.opcode, quint8(0x8));
        QVERIFY(close.payload.size() >= 2);
        QCOMPARE((quint8(close.payload[0]) << 8) | quint8(close.payload[1]), 1001);   // Going Away
    }
    if (helper.state() != QProcess::NotRunning)
        QVERIFY(helper.waitForFinished(30000));
    QCOMPARE(helper.exitStatus(), QProcess::NormalExit);   // no crash
    QCOMPARE(helper.exitCode(), 0);
}

QTEST_GUILESS_MAIN(tst_Shutdown)
#include "tst_shutdown.moc"
