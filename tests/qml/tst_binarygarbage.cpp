// SPDX-License-Identifier: BSD-3-Clause
// Binary messages handed to JavaScript are collected even when nothing else allocates: the QML engine's
// collector does not count an ArrayBuffer's bytes, so a handler that drops large messages would keep every
// one until some unrelated collection (200 echoed 16 MiB messages held 3.2 GB). The element asks for a
// collection after every 64 MiB of binary messages. Measured as heap bytes in use (mallinfo2: live
// allocations, not pages glibc keeps), so not in sanitizer builds, whose runtime owns malloc.
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlEngine>
#include <QtTest/QTest>
#include <QtWebSockets/QWebSocket>

#include <malloc.h>

#include <memory>

class tst_BinaryGarbage : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void droppedBinaryMessagesAreCollected();
};

namespace {
qint64 heapInUse()
{
    const struct mallinfo2 info = mallinfo2();
    return qint64(info.uordblks + info.hblkhd);
}
} // namespace

void tst_BinaryGarbage::droppedBinaryMessagesAreCollected()
{
    constexpr int kCount = 48;
    constexpr qsizetype kSize = 4 * 1024 * 1024;   // 192 MiB in all
    QQmlEngine engine;
    engine.addImportPath(qEnvironmentVariable("QWS_IMPORT_DIR"));   // set by ctest: the build's import tree
    QQmlComponent component(&engine);
    component.setData("import QuickWebSockets\n"
                      "WebSocketServer {\n"
                      "    property int received: 0\n"
                      "    property double bytes: 0\n"
                      "    onBinaryMessageReceived: (socket, message) => { ++received; bytes += message.byteLength }\n"
                      "}",
                      QUrl());
    std::unique_ptr<QObject> server(component.create());
    QVERIFY2(server, qPrintable(component.errorString()));
    QWebSocket client;
    client.open(server->property("url").toUrl());
    QTRY_COMPARE_WITH_TIMEOUT(server->property("connectionCount").toInt(), 1, 10000);

    const qint64 before = heapInUse();
    const QByteArray payload(kSize, 'g');
    qint64 peak = 0;
    for (int i = 0; i < kCount; ++i) {
        client.sendBinaryMessage(payload);
        QTRY_COMPARE_WITH_TIMEOUT(server->property("received").toInt(), i + 1, 10000);
        peak = std::max(peak, heapInUse() - before);
    }
    QCOMPARE(server->property("bytes").toDouble(), double(kCount) * kSize);
    // Without the collections every message stays (192 MiB); with them, at most 64 MiB of dropped messages
    // wait, plus the one being received and the client's frame.
    QVERIFY2(peak < 112 * 1024 * 1024, qPrintable(QStringLiteral("%1 MiB in use").arg(peak >> 20)));
}

QTEST_MAIN(tst_BinaryGarbage)
#include "tst_binarygarbage.moc"
