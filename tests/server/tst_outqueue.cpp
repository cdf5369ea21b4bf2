// SPDX-License-Identifier: BSD-3-Clause
// OutQueue, a connection's unsent bytes: what gather() hands to writev() must be exactly the frames in
// order, however they were appended (shared payloads, core bytes, copied frames filling 4 KiB tails),
// written in pieces, or dropped by an outbound overflow. No sockets.
#include <outqueue_p.h>

#include <QtTest/QTest>

#include <string>
#include <vector>

#include <sys/uio.h>

using qws::OutQueue;

namespace {

/// Everything gather() offers now, concatenated (as writev() would send it).
std::string gathered(const OutQueue &queue)
{
    std::vector<iovec> iov(1024);
    const int n = queue.gather(iov.data(), int(iov.size()));
    std::string out;
    for (int i = 0; i < n; ++i)
        out.append(static_cast<const char *>(iov[std::size_t(i)].iov_base), iov[std::size_t(i)].iov_len);
    return out;
}

int pieces(const OutQueue &queue)
{
    std::vector<iovec> iov(1024);
    return queue.gather(iov.data(), int(iov.size()));
}

std::string frameBytes(int i, std::size_t size)
{
    std::string payload(size, char('a' + i % 26));
    return std::string(1, char(0x81)) + char(size < 126 ? size : 126) + payload;
}

} // namespace

class tst_OutQueue : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void copiedFramesFillFourKiBTails();
    void largeCopyGetsItsOwnBuffer();
    void noCopyJoinsAFrameOnTheWire();
    void mixedChunksKeepTheirOrder();
    void overflowDropsOnlyUnstartedFrames();
};

void tst_OutQueue::copiedFramesFillFourKiBTails()
{
    OutQueue queue;
    std::string expected;
    for (int i = 0; i < 100; ++i) {   // 100 frames of 66 bytes: 6,600 bytes in 1, 2 and 4 KiB tails
        const std::string frame = frameBytes(i, 64);
        queue.appendFrameCopy(frame.data(), 2, frame.data() + 2, 64, true);
        expected += frame;
    }
    QCOMPARE(queue.size(), expected.size());
    QCOMPARE(gathered(queue), expected);
    QCOMPARE(pieces(queue), 3);   // 15 frames fill the first ~1 KiB, 30 the next ~2 KiB, the rest the third
    QCOMPARE(queue.consume(expected.size()), expected.size());   // all accounted
    QVERIFY(queue.isEmpty());
}

void tst_OutQueue::largeCopyGetsItsOwnBuffer()
{
    OutQueue queue;
    const std::string small = frameBytes(1, 10);
    const std::string big(70000, 'z');
    queue.appendFrameCopy(small.data(), 2, small.data() + 2, 10, true);
    queue.appendFrameCopy("\x82\x7f", 2, big.data(), big.size(), true);   // larger than a tail
    queue.appendFrameCopy(small.data(), 2, small.data() + 2, 10, true);
    const std::string expected = small + "\x82\x7f" + big + small;
    QCOMPARE(gathered(queue), expected);
    QCOMPARE(pieces(queue), 3);   // a tail, the big frame's own exact buffer (full), a new tail
    QCOMPARE(queue.size(), expected.size());
}

void tst_OutQueue::noCopyJoinsAFrameOnTheWire()
{
    OutQueue queue;
    const std::string a = frameBytes(0, 20), b = frameBytes(1, 20);
    queue.appendFrameCopy(a.data(), 2, a.data() + 2, 20, true);
    QCOMPARE(queue.consume(5), std::size_t(5));   // the kernel took part of the tail
    queue.appendFrameCopy(b.data(), 2, b.data() + 2, 20, true);
    QCOMPARE(gathered(queue), a.substr(5) + b);
    QCOMPARE(pieces(queue), 2);   // b went into a new tail, not after bytes already half sent
    QCOMPARE(queue.size(), a.size() - 5 + b.size());
    QCOMPARE(queue.consume(a.size() - 5 + b.size()), a.size() - 5 + b.size());
    QVERIFY(queue.isEmpty());
}

void tst_OutQueue::mixedChunksKeepTheirOrder()
{
    OutQueue queue;
    const QByteArray shared(5000, 's');
    const std::string copied = frameBytes(2, 30);
    queue.appendFrameCopy(copied.data(), 2, copied.data() + 2, 30, true);
    queue.appendFrame("\x82\x7e\x13\x88", 4, shared, true);
    queue.appendBytes(std::string("\x8a\x00", 2), false);   // a pong made by the core: not accounted
    queue.appendFrameCopy(copied.data(), 2, copied.data() + 2, 30, true);
    const std::string expected = copied + std::string("\x82\x7e\x13\x88", 4) + shared.toStdString()
            + std::string("\x8a\x00", 2) + copied;
    QCOMPARE(gathered(queue), expected);
    QCOMPARE(queue.consume(expected.size()), expected.size() - 2);   // all but the pong
    QVERIFY(queue.isEmpty());
}

void tst_OutQueue::overflowDropsOnlyUnstartedFrames()
{
    OutQueue queue;
    std::string all;
    for (int i = 0; i < 200; ++i) {   // ~13 KiB of copied frames: 1, 2, 4 and 8 KiB tails
        const std::string frame = frameBytes(i, 64);
        queue.appendFrameCopy(frame.data(), 2, frame.data() + 2, 64, true);
        all += frame;
    }
    QCOMPARE(queue.consume(100), std::size_t(100));   // the first tail is on the wire
    const std::size_t firstTail = 15 * 66;
    const std::size_t dropped = queue.dropUnstarted();
    QCOMPARE(dropped, all.size() - firstTail);
    QCOMPARE(gathered(queue), all.substr(100, firstTail - 100));   // the started tail is finished
    QCOMPARE(queue.size(), firstTail - 100);
}

QTEST_APPLESS_MAIN(tst_OutQueue)
#include "tst_outqueue.moc"
