// SPDX-License-Identifier: BSD-3-Clause
// SpareEvents: the delivered event vectors an engine thread keeps for reuse. Bounded in number and in bytes
// held (a burst of many or large messages must not leave megabytes behind), last kept first, and what comes
// back still holds its strings' storage (that is the point of keeping it). No sockets.
#include <spareevents_p.h>

#include <QtTest/QTest>

#include <vector>

using qws::InEvent;
using qws::SpareEvents;

namespace {

/// A delivered vector of `count` text events whose strings have room for `chars` UTF-16 units each.
std::vector<InEvent> delivered(int count, qsizetype chars)
{
    std::vector<InEvent> events(static_cast<std::size_t>(count));
    for (InEvent &event : events) {
        event.text.reserve(chars);
        event.text = QString(chars, QLatin1Char('x'));
    }
    return events;
}

} // namespace

class tst_SpareEvents : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void keepsAtMostMaxVectors();
    void keepsAtMostMaxBytes();
    void giveBackLastKeptWithItsStorage();
};

void tst_SpareEvents::keepsAtMostMaxVectors()
{
    SpareEvents spares;
    for (std::size_t i = 0; i < SpareEvents::kMaxVectors; ++i) {
        std::vector<InEvent> events = delivered(8, 64);
        QVERIFY(spares.give(events));
        QCOMPARE(events.capacity(), std::size_t(0));   // moved from
    }
    std::vector<InEvent> oneMore = delivered(8, 64);
    QVERIFY(!spares.give(oneMore));
    QCOMPARE(oneMore.size(), std::size_t(8));          // left to the caller, intact
    QCOMPARE(spares.size(), SpareEvents::kMaxVectors);
}

void tst_SpareEvents::keepsAtMostMaxBytes()
{
    SpareEvents spares;
    // 64 events of 2,000 UTF-16 units: ~256 KB a vector, so the byte bound stops it long before the count.
    int kept = 0;
    for (int i = 0; i < 20; ++i) {
        std::vector<InEvent> events = delivered(64, 2000);
        QVERIFY(SpareEvents::storageOf(events) >= 64u * 2000u * 2u);
        if (spares.give(events))
            ++kept;
        QVERIFY2(spares.bytes() <= SpareEvents::kMaxBytes, qPrintable(QString::number(spares.bytes())));
    }
    QCOMPARE(spares.size(), std::size_t(kept));
    QVERIFY2(kept >= 1 && kept < 5, qPrintable(QString::number(kept)));
    // Small vectors still fit in what is left.
    std::vector<InEvent> small = delivered(1, 16);
    QVERIFY(spares.give(small));
}

void tst_SpareEvents::giveBackLastKeptWithItsStorage()
{
    SpareEvents spares;
    QCOMPARE(spares.take().capacity(), std::size_t(0));   // none kept: an empty vector
    std::vector<InEvent> first = delivered(2, 32);
    std::vector<InEvent> second = delivered(3, 100);
    const QChar *storage = second.front().text.constData();
    const std::size_t firstBytes = SpareEvents::storageOf(first);
    QVERIFY(spares.give(first));
    QVERIFY(spares.give(second));

    std::vector<InEvent> back = spares.take();
    QCOMPARE(back.size(), std::size_t(3));
    QCOMPARE(back.front().text.constData(), storage);   // the same string storage, not a copy
    QVERIFY(back.front().text.isDetached());
    QCOMPARE(spares.bytes(), firstBytes);
    QCOMPARE(spares.take().size(), std::size_t(2));
    QCOMPARE(spares.bytes(), std::size_t(0));
    QCOMPARE(spares.size(), std::size_t(0));
}

QTEST_APPLESS_MAIN(tst_SpareEvents)

#include "tst_spareevents.moc"
