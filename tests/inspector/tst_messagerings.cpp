// SPDX-License-Identifier: BSD-3-Clause
// MessageRings (examples/inspector/messagerings.h), the inspector's C++ message logs: ring order and dropped
// counts, capacity changes both ways, binary truncation, lazy UTF-8 sizes, versions, and that a payload is
// shared, not copied.
#include "messagerings.h"

#include <QtTest/QTest>

class TestMessageRings : public QObject
{
    Q_OBJECT

    static QStringList texts(MessageRings &rings, double cid)
    {
        QStringList out;
        for (const QVariant &item : rings.log(cid).value(QStringLiteral("items")).toList())
            out << item.toMap().value(QStringLiteral("text")).toString();
        return out;
    }
    static qint64 dropped(MessageRings &rings, double cid)
    {
        return rings.log(cid).value(QStringLiteral("dropped")).toLongLong();
    }
    static void fill(MessageRings &rings, double cid, int from, int to)
    {
        for (int i = from; i <= to; ++i)
            rings.record(cid, QStringLiteral("in"), QStringLiteral("text"), QString::number(i), -1);
    }

private Q_SLOTS:
    void keepsTheNewestInOrderAndCountsTheDropped()
    {
        MessageRings rings;
        rings.setCapacity(3);
        fill(rings, 7, 1, 5);
        QCOMPARE(texts(rings, 7), QStringList({"3", "4", "5"}));
        QCOMPARE(dropped(rings, 7), 2);
        QCOMPARE(rings.count(7), 3);
        QCOMPARE(rings.count(8), 0);   // another connection is untouched
        QCOMPARE(texts(rings, 8), QStringList());
    }

    void loweringTheCapacityDropsTheOldestAtOnce()
    {
        MessageRings rings;
        rings.setCapacity(4);
        fill(rings, 1, 1, 6);          // wrapped: the oldest kept entry is not at index 0
        rings.setCapacity(2);
        QCOMPARE(texts(rings, 1), QStringList({"5", "6"}));
        QCOMPARE(dropped(rings, 1), 4);
        fill(rings, 1, 7, 7);
        QCOMPARE(texts(rings, 1), QStringList({"6", "7"}));
        QCOMPARE(rings.capacity(), 2);
        rings.setCapacity(0);          // at least one entry is kept
        QCOMPARE(rings.capacity(), 1);
    }

    void raisingTheCapacityAfterAWrapGrowsInOrder()
    {
        MessageRings rings;
        rings.setCapacity(3);
        fill(rings, 1, 1, 4);          // kept 2 3 4, head in the middle
        rings.setCapacity(5);
        fill(rings, 1, 5, 7);
        QCOMPARE(texts(rings, 1), QStringList({"3", "4", "5", "6", "7"}));
        QCOMPARE(dropped(rings, 1), 2);
    }

    void entriesCarryDirectionOpcodeTimeAndSize()
    {
        MessageRings rings;
        const qint64 before = QDateTime::currentMSecsSinceEpoch();
        rings.record(3, QStringLiteral("out"), QStringLiteral("text"), QStringLiteral("héllo €"), -1);
        rings.record(3, QStringLiteral("in"), QStringLiteral("pong"), QStringLiteral("rtt 1.00 ms"), 0);
        const QVariantList items = rings.log(3).value(QStringLiteral("items")).toList();
        QCOMPARE(items.size(), 2);
        const QVariantMap first = items[0].toMap();
        QCOMPARE(first.value("direction").toString(), QStringLiteral("out"));
        QCOMPARE(first.value("opcode").toString(), QStringLiteral("text"));
        QCOMPARE(first.value("size").toLongLong(), 10);   // -1: measured as UTF-8 (h é l l o space €)
        QCOMPARE(first.value("hex").toString(), QString());
        QVERIFY(!first.contains("bytes"));
        QVERIFY(first.value("time").toLongLong() >= before);
        QCOMPARE(items[1].toMap().value("opcode").toString(), QStringLiteral("pong"));
        QCOMPARE(items[1].toMap().value("size").toLongLong(), 0);
    }

    void binaryPayloadsAreCutToBinaryKeepButKeepTheirSize()
    {
        MessageRings rings;
        rings.setBinaryKeep(4);
        const QByteArray payload = QByteArray::fromHex("deadbeef0001");
        rings.record(2, QStringLiteral("in"), QStringLiteral("binary"), payload, int(payload.size()));
        const QVariantMap entry = rings.log(2).value(QStringLiteral("items")).toList().value(0).toMap();
        QCOMPARE(entry.value("bytes").toByteArray(), QByteArray::fromHex("deadbeef"));
        QCOMPARE(entry.value("size").toLongLong(), 6);
        QCOMPARE(entry.value("hex").toString(), QStringLiteral("de ad be ef"));
        QCOMPARE(entry.value("text").toString(), QString());
        // The hex preview stops at 64 bytes of what was kept.
        rings.setBinaryKeep(100);
        rings.record(2, QStringLiteral("in"), QStringLiteral("binary"), QByteArray(70, '\x0f'), 70);
        const QVariantMap wide = rings.log(2).value(QStringLiteral("items")).toList().value(1).toMap();
        QCOMPARE(wide.value("hex").toString(), QStringLiteral("0f ").repeated(63) + QStringLiteral("0f"));
    }

    void aPayloadIsSharedNotCopied()
    {
        MessageRings rings;
        const QString text = QString(300, QLatin1Char('x'));
        rings.record(1, QStringLiteral("in"), QStringLiteral("text"), text, -1);
        rings.record(1, QStringLiteral("out"), QStringLiteral("text"), text, -1);
        const QVariantList items = rings.log(1).value(QStringLiteral("items")).toList();
        QCOMPARE(items.size(), 2);
        for (const QVariant &item : items)
            QCOMPARE(item.toMap().value("text").toString().constData(), text.constData());
    }

    void versionsChangeWithEveryChangeAndNeverRepeat()
    {
        MessageRings rings;
        QCOMPARE(rings.version(1), 0.0);
        fill(rings, 1, 1, 1);
        const double v1 = rings.version(1);
        QVERIFY(v1 > 0);
        fill(rings, 2, 1, 1);          // another ring's change leaves this one's version alone
        QCOMPARE(rings.version(1), v1);
        rings.clear(1);
        const double v2 = rings.version(1);
        QVERIFY(v2 > v1);
        QCOMPARE(rings.count(1), 0);
        QCOMPARE(dropped(rings, 1), 0);
        rings.setCapacity(10);
        QVERIFY(rings.version(1) > v2);
        const double v3 = rings.version(1);
        rings.remove(1);
        QCOMPARE(rings.version(1), 0.0);
        fill(rings, 1, 1, 1);          // a re-recorded cid gets a version it never had
        QVERIFY(rings.version(1) > v3);
    }

    void clearResetsTheDroppedCount()
    {
        MessageRings rings;
        rings.setCapacity(1);
        fill(rings, 4, 1, 3);
        QCOMPARE(dropped(rings, 4), 2);
        rings.clear(4);
        QCOMPARE(dropped(rings, 4), 0);
        fill(rings, 4, 9, 9);
        QCOMPARE(texts(rings, 4), QStringList({"9"}));
    }
};

QTEST_GUILESS_MAIN(TestMessageRings)
#include "tst_messagerings.moc"
