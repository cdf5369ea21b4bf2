// SPDX-License-Identifier: BSD-3-Clause
// The bounded two-way hand-off between an engine thread and the thread that owns a WebSocket.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "defaults_p.h"
#include "requestblock_p.h"
#include "stats.h"
#include "websocketserver.h"

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QEvent>
#include <QtCore/QMutex>
#include <QtCore/QString>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

struct sockaddr;

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void *address);
extern "C" void __tsan_release(void *address);
#endif

namespace qws {

/// ThreadSanitizer cannot see the ordering inside QCoreApplication::postEvent() (Qt is not instrumented):
/// release an object before it crosses threads that way, acquire it where it arrives. No-ops otherwise.
inline void tsanRelease([[maybe_unused]] void *object)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_release(object);
#endif
}
inline void tsanAcquire([[maybe_unused]] void *object)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(object);
#endif
}

/// QCoreApplication::postEvent() for the engine's events: Qt appends to the receiver thread's event
/// list under its own mutex, which TSan cannot see (Qt is not instrumented), so two engine threads
/// posting to one owner looked like a race on that list (tst_deadlines: 1,024 handshakes on two engine
/// threads). Every post from this library goes through here; under TSan they are ordered on one token,
/// as Qt's mutex really orders them. A plain postEvent() otherwise.
void postEngineEvent(QObject *receiver, QEvent *event);
/// QObject::deleteLater() on the same token: it posts to its thread's event list, which an engine thread
/// may be growing at that moment (tst_deadlines: handleConnection()'s deleteLater() on a thread that runs no
/// event loop, against the engine's round event to that thread).
void deleteLaterAmongEnginePosts(QObject *object);

class Worker;

/// An IPv4/IPv6 address and port in 20 bytes (a QHostAddress costs a heap block per connection).
struct SocketAddress {
    quint8 family = 0;                 ///< 0 (unknown), 4 or 6
    quint16 port = 0;
    std::array<quint8, 16> bytes{};

    static SocketAddress fromNative(const struct sockaddr *address);
    QHostAddress toHostAddress() const;
};

/// Something that happened on the engine side, for the owner's thread. Payloads are converted to
/// QString/QByteArray once, on the engine thread.
struct InEvent {
    enum class Kind : quint8 {
        Text,          ///< text = message, number = its UTF-8 size (what the inbound queue counts)
        Binary,        ///< data = message, number = its size
        Pong,          ///< data = payload, number = elapsed ms since the matching ping()
        BytesWritten,  ///< number = bytes handed to the kernel since the last such event
        PeerClosing,   ///< the peer sent a close frame: code, text = reason
        Failed,        ///< error: the connection failed (code, text = why)
        OutboundFull,  ///< a reply of the engine message handler was refused by maxOutboundQueue; code
                       ///< 1008 (text = reason) when the engine began closing for it

        Disconnected,  ///< the socket is closed; code/text = close code and reason; always last
    };
    Kind kind = Kind::Text;
    quint16 code = 0;
    QAbstractSocket::SocketError error = QAbstractSocket::UnknownSocketError;
    qint64 number = 0;
    QString text;
    QByteArray data;
};

/// Something the owner asked for, for the engine thread.
struct OutCommand {
    enum class Kind : quint8 {
        Text,     ///< data = one message (UTF-8): the engine frames (and maybe compresses) it
        Binary,   ///< the same, binary
        Frames,   ///< data = whole uncompressed frames built by the owner (Channel::submitFrame())
        Ping,
        Close,
        Abort,
        Flags,
    };
    Kind kind = Kind::Text;
    bool discardQueued = false;    ///< Close: drop unsent data first (outbound queue overflow)
    quint16 code = 0;              ///< Close
    quint32 messages = 0;          ///< Frames: how many messages `data` holds (statistics)
    qint64 stampUs = 0;            ///< Ping: steady-clock µs at ping()
    qint64 payloadBytes = 0;       ///< Frames: the payload bytes of those messages (statistics)
    QByteArray data;               ///< Text (UTF-8), Binary, Frames, Ping payload, Close reason (UTF-8)
};

/// What a connection was at handshake time; written by the engine before the Channel is published,
/// read-only afterwards (so any thread may read it without locking).
struct ConnectionInfo {
    quint64 id = 0;
    /// What the handshake said (target, subprotocol, headers), in one compact heap block read lazily:
    /// an idle connection pays one small block, not one per field. Host and Origin are not stored
    /// twice: field() finds them among the headers as the handshake parser did. Built by
    /// Peer::openChannel().
    RequestBlock request;
    SocketAddress peer;
    SocketAddress local;
    bool secure = false;
    bool compressed = false;
    enum Field { Target, Host, Origin, Subprotocol };

    QByteArray field(Field which) const;
};

/// The per-connection hand-off, shared (std::shared_ptr) by the engine's peer and the WebSocket.
///
/// Inbound: the engine appends events in batches and posts ONE QEvent to the target object per
/// batch (none while one is outstanding); the owner takes the inbox in slices when the event
/// arrives, and re-posts the event (repost()) when its time budget ends before the inbox does.
/// Undelivered payload bytes are counted: past maxInboundQueue the engine stops reading the socket
/// (readBlocked) until the owner has drained it to half the limit, so the peer's TCP window closes
/// (backpressure).
/// Outbound: the owner appends commands and wakes the worker once per batch; outboundQueued counts
/// the bytes accepted by send…() that the kernel has not taken yet (WebSocket::bytesToWrite()).
class Channel : public std::enable_shared_from_this<Channel>
{
public:
    static QEvent::Type batchEventType();

    // ---- immutable once published -----------------------------------------------------------
    // One Channel per connection: data members go 8-byte ones first, then the small ones together
    // (outboundPolicy, the two atomic flags, the private flags), so no padding is paid per connection.
    ConnectionInfo info;
    qint64 maxInboundQueue = defaults::kMaxInboundQueue;
    qint64 maxOutboundQueue = defaults::kMaxOutboundQueue;

    // ---- lock-free, any thread --------------------------------------------------------------
    ConnectionCounters counters;   ///< counters.outboundQueued is WebSocket::bytesToWrite()

    // ---- engine side ------------------------------------------------------------------------
    /// Appends `events` (moved out) worth `bytes` of payload. Returns true when the inbound queue is
    /// now over its limit: the caller stops reading and readBlocked stays set until the owner drains.
    /// `queuePost` is set when the caller must hand this channel to flushPost() (the worker does so
    /// at the end of its loop iteration, so one iteration's events reach the owner in one wake-up).
    bool deliver(std::vector<InEvent> &events, qint64 bytes, bool &queuePost);
    /// Makes the batch outstanding if the target is claimed and none is: a channel whose WebSocket lives
    /// on its server's thread is appended to `round` (the worker hands the whole list to the server in one
    /// posted event: see WorkerHost::deliverRound()); any other gets its own posted batch event.
    void flushPost(std::vector<std::shared_ptr<Channel>> &round);
    /// The worker lets go (socket closed): appends the final Disconnected event, forgets the worker.
    /// `queuePost` as for deliver().
    void finish(InEvent disconnected, bool &queuePost);
    /// Takes the owner's commands (worker thread); `readBlocked` tells whether the engine must still
    /// hold reading for backpressure.
    std::vector<OutCommand> takeCommands(bool &readBlocked);

    // ---- owner side -------------------------------------------------------------------------
    /// Sets (or clears, with nullptr) the object batch events go to. Clearing it under the lock
    /// guarantees the engine never posts to a deleted object. `inRound`: the target was made on its
    /// server's thread (its batches then travel in the server's round event); false: always a batch
    /// event of its own.
    void setTarget(QObject *target, bool claimed, bool inRound = false);
    /// The target is moving to another thread (QEvent::ThreadChange, on its old thread): from now on
    /// it gets batch events of its own.
    void leaveRound();
    /// The server's round event reached its thread with this channel in it (owner thread): returns
    /// the target to deliver to now, or nullptr when there is nothing to do here (the target is gone,
    /// or lives on another thread: then it was posted its own batch event instead).
    QObject *takeRoundTurn();
    /// Marks the target claimed (nextPendingConnection()) and posts if events are waiting.
    void claim();
    /// Takes every undelivered event; unblocks reading if the engine had stopped for us.
    std::vector<InEvent> takeEvents();
    /// Moves up to `max` of the oldest undelivered events into `out` (cleared first). Reading
    /// resumes once what stays undelivered is at most half of maxInboundQueue. Returns true when
    /// events remain: the batch event then stays outstanding and the owner must take again or
    /// repost(); false when the inbox is empty (the engine posts again on its next delivery).
    bool takeSlice(std::vector<InEvent> &out, std::size_t max);
    /// Posts the batch event again (to the back of the owner's queue) for the events takeSlice() left.
    void repost();
    /// The owner thread's delivery deadline for the current pass of its event loop over posted
    /// events: set by the first call of a pass (now + defaults::kOwnerSliceBudget), cleared by a
    /// marker event queued behind that pass, so later passes (after paint and timers) start anew.
    static std::chrono::steady_clock::time_point ownerPassDeadline();
    /// Queues a command for the engine (charging `charge` bytes to outboundQueued). Returns false
    /// when the engine has let go of the connection.
    bool submit(OutCommand &&command, qint64 charge = 0);
    /// Queues one uncompressed data frame built in place: `headerSize` bytes of `header`, then
    /// `payloadSize` bytes written by `fill(char *)` (under the lock: meant for small payloads, see
    /// defaults::kInlineFrameMax). Frames sent in a row share one buffer (a Frames command of up to
    /// kFramesChunk bytes), so a burst of small messages costs one allocation, no per-message command,
    /// and goes out as one contiguous write. Charges the frame to outboundQueued; returns false when
    /// the engine has let go of the connection.
    template <typename Fill>
    bool submitFrame(const char *header, std::size_t headerSize, std::size_t payloadSize, Fill &&fill);
    static constexpr qsizetype kFramesChunk = 64 * 1024;
    /// Sets the owner's pause flag and wakes the engine; false when the engine has let go.
    bool setUserPaused(bool paused);
    /// Brackets the owner's handling of one batch: worker wake-ups requested inside (a slot that
    /// answers each message) are deferred to one event queued behind the batches already posted,
    /// so the engine thread is woken once per round instead of once per message.
    static void beginOwnerBatch();
    static void endOwnerBatch();
    /// The owner is done with `events` (delivered): they travel back to an engine thread with the next
    /// deferred wake-up, and Worker::nextEvent() writes later messages into their strings' storage, so
    /// a message's QString is allocated, and freed, on no thread at all in the steady state. Strings
    /// someone else still holds (a slot kept a copy) or large ones are dropped here first. Owner thread;
    /// at most Worker::kMaxSpareEventVectors wait, the rest are freed.
    static void recycleEvents(std::vector<InEvent> &&events);
    /// The worker of a deferred request (owner thread), kept alive for the wake-up; null when the
    /// engine has let go of the connection.
    std::shared_ptr<Worker> deferredWorker();
    bool isFinished() const;
    qint64 undeliveredBytes() const;

    // ---- engine-private (worker thread only, no lock) ----------------------------------------
    Worker *worker = nullptr;      ///< guarded by mutex for readers on other threads
    void *peer = nullptr;          ///< the worker's Peer; only the worker thread touches it

    // ---- the small members (see above), public then private ---------------------------------
    OutboundPolicy outboundPolicy : 8 = OutboundPolicy::CloseConnection;   ///< immutable once published
    /// Signals of the WebSocket that something connected to (WebSocket::connectNotify(), any thread,
    /// lock-free): the engine posts bytes-written events, and the owner emits the per-socket frame and
    /// message signals, only when watched. Bits are set, never cleared (disconnectNotify() may run under
    /// Qt's connection lock, and a disconnect-all names no signal): a signal once connected just costs a
    /// normal emission again.
    enum Watched : std::uint8_t {
        WatchBytesWritten = 1, WatchTextFrame = 2, WatchTextMessage = 4, WatchBinaryFrame = 8, WatchBinaryMessage = 16
    };
    std::atomic<std::uint8_t> watched{0};
    bool watches(Watched signal) const { return watched.load(std::memory_order_relaxed) & signal; }
    /// WebSocket::pauseReading(): the engine checks it before every read, so it holds from the
    /// moment pauseReading() returns. Lock-free, any thread.
    std::atomic<bool> userPaused{false};

private:
    void postLocked();
    void postEventLocked();
    void wakeWorkerLocked();
    void resumeReadingLocked();
    /// Drops `count` taken events from the front; true when the inbox is now empty.
    bool releaseLocked(std::size_t count);

    // The flags, one bit each (all read and written under m_mutex only, so sharing a byte is safe).
    bool m_claimed : 1 = false;
    bool m_posted : 1 = false;
    bool m_postQueued : 1 = false;
    bool m_readBlocked : 1 = false;
    bool m_finished : 1 = false;
    bool m_queuedForWorker : 1 = false;
    /// The target lives on the thread of the server that made it (its batches travel in the server's
    /// round event) and has not moved since: cleared by leaveRound() (QEvent::ThreadChange).
    bool m_inRound : 1 = false;
    /// m_inbox[0, head) were taken by takeSlice(); 32 bits (4 G undelivered events would be
    /// hundreds of GB) so it packs with the flags.
    std::uint32_t m_inboxHead = 0;
    /// A QMutex is 8 bytes, a std::mutex 40; uncontended it is one compare-and-swap each way (a futex
    /// on Linux when contended), and its inline parts carry ThreadSanitizer annotations.
    mutable QMutex m_mutex;
    std::vector<InEvent> m_inbox;   // its undelivered payload bytes: counters.inboundQueued (under the lock)
    QObject *m_target = nullptr;
    std::vector<OutCommand> m_outbox;
};

template <typename Fill>
bool Channel::submitFrame(const char *header, std::size_t headerSize, std::size_t payloadSize, Fill &&fill)
{
    const qsizetype frameSize = qsizetype(headerSize + payloadSize);
    std::lock_guard lock(m_mutex);
    if (!worker)
        return false;
    OutCommand *frames = nullptr;
    if (!m_outbox.empty() && m_outbox.back().kind == OutCommand::Kind::Frames
        && m_outbox.back().data.size() + frameSize <= kFramesChunk)
        frames = &m_outbox.back();
    if (!frames) {
        if (m_outbox.capacity() == 0)
            m_outbox.reserve(4);
        frames = &m_outbox.emplace_back();
        frames->kind = OutCommand::Kind::Frames;
        // Room for a round's replies at once (the 64-byte echo answers ~8 messages per socket a round).
        frames->data.reserve(std::max(frameSize, defaults::kFrameBufferFirst));
    }
    const qsizetype at = frames->data.size();
    frames->data.resize(at + frameSize);   // within the reservation, or grows geometrically
    char *out = frames->data.data() + at;
    std::memcpy(out, header, headerSize);
    fill(out + headerSize);
    ++frames->messages;
    frames->payloadBytes += qint64(payloadSize);
    counters.outboundQueued.fetch_add(frameSize, std::memory_order_relaxed);
    wakeWorkerLocked();
    return true;
}

} // namespace qws
