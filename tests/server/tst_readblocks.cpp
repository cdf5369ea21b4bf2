// SPDX-License-Identifier: BSD-3-Clause
// ReadBlocks: the read storage an engine thread shares with the large binary messages it adopts. Where
// each read goes, the '\0' after an adopted message, reuse once messages are gone, the bound when the
// application keeps them, and QByteArray semantics of an adopted message. No sockets.
#include <readblocks_p.h>

#include <QtTest/QTest>

#include <cstring>
#include <vector>

using qws::ReadBlocks;

namespace {

/// Adopts `size` bytes at `at` of the current read and returns the message's QByteArray.
QByteArray adoptAt(ReadBlocks &blocks, char *at, std::size_t size)
{
    auto payload = blocks.adopt({reinterpret_cast<std::byte *>(at), size});
    if (!payload)
        return {};
    return static_cast<ReadBlocks::Payload &>(*payload).data;
}

} // namespace

class tst_ReadBlocks : public QObject
{
    Q_OBJECT
private slots:
    void adoptedMessageSharesTheBlock();
    void nextReadGoesAfterAdoptedMessages();
    void blockStartsOverOnceMessagesAreGone();
    void keptMessagesAreBounded();
    void adoptedMessageBehavesAsAQByteArray();
    void adoptOutsideTheReadIsDeclined();
};

void tst_ReadBlocks::adoptedMessageSharesTheBlock()
{
    ReadBlocks blocks;
    bool adoptable = false;
    char *read = blocks.beginRead(adoptable);
    QVERIFY(adoptable);
    std::memset(read, 'h', 8);           // a frame header...
    std::memset(read + 8, 'p', 5000);    // ...its payload...
    std::memset(read + 5008, 'n', 8);    // ...and the next frame's header
    const QByteArray message = adoptAt(blocks, read + 8, 5000);
    QCOMPARE(message.constData(), read + 8);   // not a copy
    QCOMPARE(message, QByteArray(5000, 'p'));
    QCOMPARE(read[5008], 'n');   // the next header is left alone until the core has parsed it
    blocks.endRead();
    QCOMPARE(message.constData()[message.size()], '\0');   // as every QByteArray
    QVERIFY(!message.isDetached());                       // shared with the block
    QCOMPARE(blocks.blockCount(), std::size_t(1));
}

void tst_ReadBlocks::nextReadGoesAfterAdoptedMessages()
{
    ReadBlocks blocks;
    bool adoptable = false;
    char *first = blocks.beginRead(adoptable);
    QCOMPARE(blocks.beginRead(adoptable), first);   // nothing adopted: the same bytes again
    std::memset(first, 'a', 9000);
    const QByteArray a = adoptAt(blocks, first + 10, 4000);
    const QByteArray b = adoptAt(blocks, first + 4020, 4100);
    blocks.endRead();
    char *second = blocks.beginRead(adoptable);
    QVERIFY(adoptable);
    QCOMPARE(second, first + 4020 + 4100 + 1);   // after the last message and its '\0'
    std::memset(second, 'x', ReadBlocks::kReadSize);   // a full read there leaves both intact
    blocks.endRead();
    QCOMPARE(a, QByteArray(4000, 'a'));
    QCOMPARE(b, QByteArray(4100, 'a'));
    QCOMPARE(b.constData()[b.size()], '\0');
}

void tst_ReadBlocks::blockStartsOverOnceMessagesAreGone()
{
    ReadBlocks blocks;
    bool adoptable = false;
    char *first = blocks.beginRead(adoptable);
    {
        const QByteArray kept = adoptAt(blocks, first, 6000);
        blocks.endRead();
        QVERIFY(blocks.beginRead(adoptable) != first);
    }   // the application dropped the message
    QCOMPARE(blocks.beginRead(adoptable), first);   // back to the start: the warm bytes
    QCOMPARE(blocks.blockCount(), std::size_t(1));
}

void tst_ReadBlocks::keptMessagesAreBounded()
{
    // Every read adopts one message as large as a read can hold, and the application keeps them all.
    ReadBlocks blocks;
    std::vector<QByteArray> kept;
    bool adoptable = true;
    char *read = nullptr;
    while (true) {
        read = blocks.beginRead(adoptable);
        if (!adoptable)
            break;
        kept.push_back(adoptAt(blocks, read, ReadBlocks::kReadSize - 1));
        QVERIFY(!kept.back().isNull());
        std::memset(read, char('A' + kept.size() % 26), ReadBlocks::kReadSize - 1);
        blocks.endRead();
        QVERIFY(kept.size() <= ReadBlocks::kBlocks * (ReadBlocks::kBlockSize / ReadBlocks::kReadSize));
    }
    QCOMPARE(blocks.blockCount(), ReadBlocks::kBlocks);   // no more blocks than the bound
    QCOMPARE(kept.size(), ReadBlocks::kBlocks * (ReadBlocks::kBlockSize / ReadBlocks::kReadSize - 1));
    // Every block is held: the read goes to a plain buffer, from which nothing is adopted.
    QVERIFY(adoptAt(blocks, read, 5000).isNull());
    std::memset(read, 'z', ReadBlocks::kReadSize);
    blocks.endRead();
    for (std::size_t i = 0; i < kept.size(); ++i)
        QCOMPARE(kept[i], QByteArray(qsizetype(ReadBlocks::kReadSize - 1), char('A' + (i + 1) % 26)));
    // The messages of one block are gone: that block takes reads again.
    const char *freed = kept.front().constData();
    kept.erase(kept.begin(), kept.begin() + qsizetype(ReadBlocks::kBlockSize / ReadBlocks::kReadSize - 1));
    read = blocks.beginRead(adoptable);
    QVERIFY(adoptable);
    QCOMPARE(read, freed);
}

void tst_ReadBlocks::adoptedMessageBehavesAsAQByteArray()
{
    ReadBlocks blocks;
    bool adoptable = false;
    char *read = blocks.beginRead(adoptable);
    std::memset(read, 'a', 4096);
    std::memset(read + 4100, 'b', 4096);
    QByteArray a = adoptAt(blocks, read, 4096);
    const QByteArray b = adoptAt(blocks, read + 4100, 4096);
    blocks.endRead();
    a.append("tail");   // shared with the block: detaches, never writes over the next message
    QVERIFY(a.constData() != read);
    QCOMPARE(a, QByteArray(4096, 'a') + "tail");
    QCOMPARE(b, QByteArray(4096, 'b'));
    QByteArray c = b;
    c[0] = 'c';   // copy on write, as usual
    QCOMPARE(b.at(0), 'b');
    QCOMPARE(read[4100], 'b');
}

void tst_ReadBlocks::adoptOutsideTheReadIsDeclined()
{
    ReadBlocks blocks;
    bool adoptable = false;
    char *read = blocks.beginRead(adoptable);
    const QByteArray a = adoptAt(blocks, read, 4096);
    blocks.endRead();
    char *next = blocks.beginRead(adoptable);
    QVERIFY(adoptAt(blocks, read + 100, 4096).isNull());   // before this read: a live message's bytes
    QVERIFY(adoptAt(blocks, next + ReadBlocks::kReadSize - 10, 4096).isNull());   // past what was read
    std::vector<char> elsewhere(5000);
    QVERIFY(adoptAt(blocks, elsewhere.data(), 4096).isNull());
}

QTEST_APPLESS_MAIN(tst_ReadBlocks)
#include "tst_readblocks.moc"
