// SPDX-License-Identifier: BSD-3-Clause
// WebSocketServer.connections refreshes its counters on the animation clock, as QML's Timer runs: while
// something animates, a refresh happens inside an animation tick (so the rows it changes are drawn in the
// frame of that tick), never from a timer of its own between two ticks. An installed manual animation driver
// decides when ticks happen; a real QWebSocket client moves the counters.
#include <QtCore/QAbstractItemModel>
#include <QtCore/QAnimationDriver>
#include <QtCore/QVariantAnimation>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <memory>

namespace {

/// Animation time moves only when the test says so.
class ManualDriver : public QAnimationDriver
{
public:
    qint64 now = 0;
    qint64 elapsed() const override { return now; }
    void tick(qint64 ms)
    {
        now += ms;
        advance();
    }
};

} // namespace

class tst_RefreshClock : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void countersRefreshOnAnimationTicksOnly();
};

void tst_RefreshClock::countersRefreshOnAnimationTicksOnly()
{
    ManualDriver driver;
    driver.install();
    QVariantAnimation spinner;   // something animates (a spinner in a window): the driver's ticks run the clock
    spinner.setStartValue(0.0);
    spinner.setEndValue(360.0);
    spinner.setDuration(1000);
    spinner.setLoopCount(-1);
    spinner.start();

    QQmlEngine engine;
    engine.addImportPath(qEnvironmentVariable("QWS_IMPORT_DIR"));   // set by ctest: the build's import tree
    QQmlComponent component(&engine);
    component.setData("import QuickWebSockets\nWebSocketServer { }", QUrl());
    std::unique_ptr<QObject> server(component.create());
    QVERIFY2(server, qPrintable(component.errorString()));
    auto *model = qobject_cast<QAbstractItemModel *>(server->property("connections").value<QObject *>());
    QVERIFY(model);
    QCOMPARE(model->property("refreshInterval").toInt(), 100);
    const int messagesRole = model->roleNames().key("messagesReceived", -1);
    const int socketRole = model->roleNames().key("socket", -1);
    QVERIFY(messagesRole >= 0 && socketRole >= 0);

    QWebSocket client;
    client.open(server->property("url").toUrl());
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
    QObject *socket = model->data(model->index(0, 0), socketRole).value<QObject *>();
    QVERIFY(socket);

    bool ticking = false;
    int inTicks = 0;
    int outside = 0;
    connect(model, &QAbstractItemModel::dataChanged, this, [&] { ++(ticking ? inTicks : outside); });
    for (int i = 0; i < 5; ++i)
        client.sendTextMessage(QStringLiteral("counted"));
    // The socket's own property reads the live counters; the row keeps what the last refresh saw.
    QTRY_COMPARE_WITH_TIMEOUT(socket->property("messagesReceived").toDouble(), 5.0, 10000);
    QTest::qWait(350);   // three refresh intervals of wall-clock time, without a tick
    QCOMPARE(outside, 0);
    QCOMPARE(model->data(model->index(0, 0), messagesRole).toDouble(), 0.0);

    // Ticks of 16 ms: the refresh comes with the tick that completes its 100 ms, and only then.
    int ticks = 0;
    while (inTicks == 0 && ticks < 20) {
        ticking = true;
        driver.tick(16);
        ticking = false;
        ++ticks;
        QCoreApplication::processEvents();
    }
    QCOMPARE(inTicks, 1);
    QCOMPARE(outside, 0);
    QVERIFY2(ticks * 16 >= 100 && ticks * 16 < 100 + 2 * 16, qPrintable(QString::number(ticks)));
    QCOMPARE(model->data(model->index(0, 0), messagesRole).toDouble(), 5.0);

    driver.uninstall();
}

QTEST_MAIN(tst_RefreshClock)

#include "tst_refreshclock.moc"
