// SPDX-License-Identifier: BSD-3-Clause
// The engine threads' readiness backend: QWS_POLLER picks epoll or poll(2) (shown by the qws.server log
// line and by the process's epoll descriptors), and neither backend spins while connections wait with
// paused reading, unread input or unsent output.
#include "testsupport.h"

#include <websocket.h>
#include <websocketserver.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>

#include <unistd.h>

using namespace testsupport;

namespace {

QMutex logMutex;
QStringList logLines;   // "category|text" of every qws.server message
QtMessageHandler previousHandler = nullptr;

void captureHandler(QtMsgType type, const QMessageLogContext &context, const QString &text)
{
    if (context.category && qstrcmp(context.category, "qws.server") == 0) {
        QMutexLocker lock(&logMutex);
        logLines.append(QString::number(int(type)) + QLatin1Char('|') + text);
    }
    previousHandler(type, context, text);
}

QStringList takeLog()
{
    QMutexLocker lock(&logMutex);
    return std::exchange(logLines, {});
}

int epollDescriptors()
{
    int count = 0;
    const QDir fds(QStringLiteral("/proc/self/fd"));
    for (const QString &name : fds.entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot)) {
        char target[64] = {};
        const QByteArray path = QFile::encodeName(fds.filePath(name));
        const ssize_t n = ::readlink(path.constData(), target, sizeof target - 1);
        if (n > 0 && qstrcmp(target, "anon_inode:[eventpoll]") == 0)
            ++count;
    }
    return count;
}

/// CPU time (clock ticks, user + system) used so far by the engine threads ("qws-engine-N").
qint64 engineCpuTicks()
{
    qint64 ticks = 0;
    const QDir tasks(QStringLiteral("/proc/self/task"));
    for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(tasks.filePath(tid + QStringLiteral("/comm")));
        if (!comm.open(QIODevice::ReadOnly) || !comm.readAll().startsWith("qws-engine-"))
            continue;
        QFile stat(tasks.filePath(tid + QStringLiteral("/stat")));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray line = stat.readAll();
        // after "pid (comm) ": state is field 3, utime 14, stime 15
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 12)
            ticks += fields.at(11).toLongLong() + fields.at(12).toLongLong();
    }
    return ticks;
}

struct PollerEnvironment {
    explicit PollerEnvironment(const QByteArray &value) { qputenv("QWS_POLLER", value); }
    ~PollerEnvironment() { qunsetenv("QWS_POLLER"); }
};

} // namespace

class tst_Poller : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void backendFollowsEnvironment_data();
    void backendFollowsEnvironment();
    void waitingConnectionsDoNotSpin_data();
    void waitingConnectionsDoNotSpin();
};

void tst_Poller::initTestCase()
{
    QLoggingCategory::setFilterRules(QStringLiteral("qws.server.debug=true"));
    previousHandler = qInstallMessageHandler(captureHandler);
}

void tst_Poller::backendFollowsEnvironment_data()
{
    QTest::addColumn<QByteArray>("variable");
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("epollPerThread");
    QTest::newRow("poll") << QByteArray("poll") << QStringLiteral("poll") << 0;
    QTest::newRow("epoll") << QByteArray("epoll") << QStringLiteral("epoll") << 1;
    QTest::newRow("unset: epoll on Linux") << QByteArray() << QStringLiteral("epoll") << 1;
    QTest::newRow("upper case") << QByteArray("POLL") << QStringLiteral("poll") << 0;
    QTest::newRow("unknown: warned, epoll") << QByteArray("kqueue") << QStringLiteral("epoll") << 1;
}

void tst_Poller::backendFollowsEnvironment()
{
    QFETCH(QByteArray, variable);
    QFETCH(QString, backend);
    QFETCH(int, epollPerThread);
    PollerEnvironment environment(variable);
    takeLog();
    const int epollBefore = epollDescriptors();

    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(2);
    installEcho(server);
    QVERIFY2(server.listen(QHostAddress::LocalHost), qPrintable(server.errorString()));
    QCOMPARE(epollDescriptors() - epollBefore, 2 * epollPerThread);

    const QStringList log = takeLog();
    const QString debug = QString::number(int(QtDebugMsg)) + QLatin1Char('|');
    QVERIFY2(log.contains(debug + QStringLiteral("engine thread 0: poller: ") + backend), qPrintable(log.join('\n')));
    QVERIFY2(log.contains(debug + QStringLiteral("engine thread 1: poller: ") + backend), qPrintable(log.join('\n')));
    if (QTest::currentDataTag() == QLatin1String("unknown: warned, epoll")) {
        const QString warning = QString::number(int(QtWarningMsg)) + QLatin1Char('|');
        QVERIFY2(log.filter(warning + QStringLiteral("QWS_POLLER=")).size() == 1, qPrintable(log.join('\n')));
    }

    // And the engine works on it: an echo round trip.
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy echo(&client, &QWebSocket::textMessageReceived);
    client.open(server.serverUrl());
    QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, 10000);
    client.sendTextMessage(QStringLiteral("over ") + backend);
    QTRY_COMPARE_WITH_TIMEOUT(echo.size(), 1, 10000);
    QCOMPARE(echo.at(0).at(0).toString(), QStringLiteral("over ") + backend);
}

void tst_Poller::waitingConnectionsDoNotSpin_data()
{
    QTest::addColumn<QByteArray>("variable");
    QTest::newRow("poll") << QByteArray("poll");
    QTest::newRow("epoll") << QByteArray("epoll");
}

void tst_Poller::waitingConnectionsDoNotSpin()
{
    // Level-triggered polling spins if it asks for readiness nobody acts on: a readable socket whose
    // reading is paused, or a writable one with nothing to write. Three connections wait like that.
    QFETCH(QByteArray, variable);
    PollerEnvironment environment(variable);
    qws::WebSocketServer server(QString(), qws::WebSocketServer::NonSecureMode);
    server.setWorkerThreadCount(1);
    QSignalSpy newConnection(&server, &qws::WebSocketServer::newConnection);
    QVERIFY(server.listen(QHostAddress::LocalHost));

    // 1. idle
    QWebSocket idle;
    idle.open(server.serverUrl());
    QTRY_COMPARE_WITH_TIMEOUT(newConnection.size(), 1, 10000);
    std::unique_ptr<qws::WebSocket> idleSocket(server.nextPendingConnection());

    // 2. reading paused with a message waiting in the kernel
    QWebSocket sender;
    QSignalSpy senderConnected(&sender, &QWebSocket::connected);
    sender.open(server.serverUrl());
    QTRY_COMPARE_WITH_TIMEOUT(newConnection.size(), 2, 10000);
    std::unique_ptr<qws::WebSocket> paused(server.nextPendingConnection());
    QSignalSpy pausedReceived(paused.get(), &qws::WebSocket::binaryMessageReceived);
    paused->pauseReading();
    QTRY_COMPARE_WITH_TIMEOUT(senderConnected.size(), 1, 10000);
    QTest::qWait(100);   // the pause reaches the engine
    sender.sendBinaryMessage(QByteArray(64 * 1024, 'p'));
    sender.flush();

    // 3. output pending to a client that does not read
    RawClient stalled;
    QVERIFY(stalled.connectTo(server.serverPort(), 4096));
    QVERIFY(stalled.send(upgradeRequest()));
    QVERIFY(stalled.readUntil("\r\n\r\n").contains("101"));
    QTRY_COMPARE_WITH_TIMEOUT(newConnection.size(), 3, 10000);
    std::unique_ptr<qws::WebSocket> writer(server.nextPendingConnection());
    const QByteArray chunk(256 * 1024, 'w');
    for (int i = 0; i < 16; ++i)
        QVERIFY(writer->sendBinaryMessage(chunk) > 0);
    QTRY_VERIFY_WITH_TIMEOUT(writer->bytesToWrite() > 0, 10000);
    QTest::qWait(300);   // let the socket buffers fill and the engine settle
    QVERIFY(writer->bytesToWrite() > 0);
    QCOMPARE(pausedReceived.size(), 0);

    // Over 1.5 s of waiting the engine thread should sleep: a spinning one burns close to all of it.
    const long hz = ::sysconf(_SC_CLK_TCK);
    const qint64 before = engineCpuTicks();
    QTest::qWait(1500);
    const qint64 used = engineCpuTicks() - before;
    qInfo("engine CPU while waiting 1.5 s: %lld ms", used * 1000 / hz);
    QVERIFY2(used * 1000 / hz < 300, qPrintable(QStringLiteral("engine used %1 ms of CPU while waiting")
                                                       .arg(used * 1000 / hz)));

    // The waits end when they should: resumed reading delivers the message, and the reader drains.
    paused->resumeReading();
    QTRY_COMPARE_WITH_TIMEOUT(pausedReceived.size(), 1, 10000);
    QCOMPARE(pausedReceived.at(0).at(0).toByteArray().size(), 64 * 1024);
    const qint64 expected = 16 * chunk.size();   // payload; each frame adds its header
    qint64 drained = 0;
    QDeadlineTimer deadline(20000);
    char sink[65536];
    while (drained < expected && !deadline.hasExpired()) {
        pollfd readable{stalled.fd(), POLLIN, 0};
        if (::poll(&readable, 1, 100) <= 0)
            continue;
        const ssize_t n = ::recv(stalled.fd(), sink, sizeof sink, 0);
        if (n <= 0)
            break;
        drained += n;
    }
    QVERIFY2(drained >= expected, qPrintable(QString::number(drained)));
    QTRY_COMPARE_WITH_TIMEOUT(writer->bytesToWrite(), qint64(0), 10000);
}

QTEST_GUILESS_MAIN(tst_Poller)
#include "tst_poller.moc"
