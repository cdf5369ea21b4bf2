// SPDX-License-Identifier: BSD-3-Clause
// Channel: the per-connection, lock-protected hand-off between an engine thread and the owner thread.
#include "eventbatch_p.h"

#include "worker_p.h"

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QCoreApplication>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

namespace qws {

namespace {

QEvent::Type flushEventType()
{
    static const QEvent::Type type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

QEvent::Type passEndEventType()
{
    static const QEvent::Type type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

/// Per owner thread: the delivery deadline of the current pass over posted events.
struct OwnerPass {
    bool active = false;
    std::chrono::steady_clock::time_point deadline;
};
thread_local OwnerPass t_pass;

/// Per owner thread: worker wake-ups deferred while batches are handled, and the delivered event
/// vectors waiting to go back to an engine thread with them (Channel::recycleEvents()).
struct DeferredWakes {
    int depth = 0;
    bool flushPosted = false;
    std::vector<std::shared_ptr<Channel>> channels;
    std::vector<std::vector<InEvent>> spareEvents;
    std::unique_ptr<QObject> flusher;
};
thread_local DeferredWakes t_deferred;

// One Worker::schedule() per engine thread for the whole round, so that the wake-up comes after every
// channel was queued: waking it on the first one would let it run (and, on a shared core, preempt this
// thread) for one channel at a time.
void flushDeferredWakes()
{
    t_deferred.flushPosted = false;
    // The vectors keep their capacity from round to round (this thread's and, through schedule(), the
    // worker's): a round allocates nothing here. Usually there is one engine thread, so one entry.
    struct PerWorker {
        std::shared_ptr<Worker> worker;
        std::vector<std::shared_ptr<Channel>> channels;
    };
    thread_local std::vector<std::shared_ptr<Channel>> channels;
    thread_local std::vector<PerWorker> perWorker;
    channels.clear();
    channels.swap(t_deferred.channels);
    std::size_t used = 0;
    for (std::shared_ptr<Channel> &channel : channels) {
        std::shared_ptr<Worker> worker = channel->deferredWorker();
        if (!worker)
            continue;
        auto it = std::find_if(perWorker.begin(), perWorker.begin() + std::ptrdiff_t(used),
                               [&](const PerWorker &entry) { return entry.worker == worker; });
        if (it == perWorker.begin() + std::ptrdiff_t(used)) {
            if (used == perWorker.size())
                perWorker.emplace_back();
            it = perWorker.begin() + std::ptrdiff_t(used++);
            it->worker = std::move(worker);
        }
        it->channels.push_back(std::move(channel));
    }
    channels.clear();
    // The spare event vectors go to the first worker woken (any engine thread can use them).
    for (std::size_t i = 0; i < used; ++i) {
        perWorker[i].worker->schedule(perWorker[i].channels, t_deferred.spareEvents);
        perWorker[i].worker.reset();
    }
}

class WakeFlusher final : public QObject
{
public:
    bool event(QEvent *event) override
    {
        if (event->type() == passEndEventType()) {
            t_pass.active = false;
            return true;
        }
        if (event->type() != flushEventType())
            return QObject::event(event);
        flushDeferredWakes();
        return true;
    }
};

QObject *flusher()
{
    if (!t_deferred.flusher)
        t_deferred.flusher = std::make_unique<WakeFlusher>();
    return t_deferred.flusher.get();
}

/// Per owner thread: its event dispatcher's awake() ends the delivery pass and flushes the deferred
/// engine wake-ups, once per event-loop iteration. Both used to be events the thread posted to itself,
/// and each post wrote the dispatcher's wake-up descriptor (a system call, plus the read and poll that
/// follow): several per round, a fifth of a connection storm's server CPU. awake() is emitted by every
/// processEvents() — exec(), QCoreApplication::processEvents(), QTest::qWait() — once per iteration
/// (measured on Qt 6.4's glib and QPA dispatchers; aboutToBlock() is not, for a non-blocking call).
/// Qt delivers the events posted before an iteration's sendPostedEvents() within it and those posted
/// during it in the next, so "until the next awake()" is the pass the marker event marked. A thread
/// without a dispatcher (no event loop) keeps the posted events.
struct DispatcherHooks {
    QPointer<QAbstractEventDispatcher> dispatcher;
    QMetaObject::Connection awake;
};
thread_local DispatcherHooks t_hooks;

bool hookedToDispatcher()
{
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance(QThread::currentThread());
    if (!dispatcher)
        return false;
    if (t_hooks.dispatcher != dispatcher) {
        QObject::disconnect(t_hooks.awake);
        t_hooks.dispatcher = dispatcher;
        t_hooks.awake = QObject::connect(dispatcher, &QAbstractEventDispatcher::awake, dispatcher, [] {
            t_pass.active = false;
            if (!t_deferred.channels.empty() && t_deferred.depth == 0)
                flushDeferredWakes();
        }, Qt::DirectConnection);
    }
    return true;
}

} // namespace

SocketAddress SocketAddress::fromNative(const struct sockaddr *address)
{
    SocketAddress result;
    if (!address)
        return result;
    if (address->sa_family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(address);
        result.family = 4;
        result.port = ntohs(in->sin_port);
        std::memcpy(result.bytes.data(), &in->sin_addr, 4);
    } else if (address->sa_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(address);
        result.family = 6;
        result.port = ntohs(in6->sin6_port);
        std::memcpy(result.bytes.data(), &in6->sin6_addr, 16);
    }
    return result;
}

QHostAddress SocketAddress::toHostAddress() const
{
    if (family == 4) {
        quint32 ip4 = 0;
        std::memcpy(&ip4, bytes.data(), 4);
        return QHostAddress(ntohl(ip4));
    }
    if (family == 6) {
        QHostAddress address(bytes.data());
        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; Qt's sockets show them as IPv4
        // only when the socket is IPv4, so keep the mapped form (QHostAddress::isEqual handles both).
        return address;
    }
    return QHostAddress();
}

QByteArray ConnectionInfo::field(Field which) const
{
    switch (which) {
    case Target:
        return request.target().toByteArray();
    case Subprotocol:
        return request.subprotocol().toByteArray();
    case Host:   // exactly one Host header (the parser refuses none or two)
        return request.header("Host").value_or(QByteArrayView()).toByteArray();
    case Origin:   // as the parser chose it: the first Origin, else the first Sec-WebSocket-Origin
        if (const auto origin = request.header("Origin"))
            return origin->toByteArray();
        return request.header("Sec-WebSocket-Origin").value_or(QByteArrayView()).toByteArray();
    }
    return QByteArray();
}

QEvent::Type Channel::batchEventType()
{
    static const QEvent::Type type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

// ---- engine side -------------------------------------------------------------------------------

bool Channel::deliver(std::vector<InEvent> &events, qint64 bytes, bool &queuePost)
{
    std::lock_guard lock(m_mutex);
    if (m_inbox.empty())
        m_inbox = std::move(events);
    else
        std::move(events.begin(), events.end(), std::back_inserter(m_inbox));
    events.clear();
    const qint64 queued = counters.inboundQueued.load(std::memory_order_relaxed) + bytes;
    counters.inboundQueued.store(queued, std::memory_order_relaxed);
    queuePost = !m_postQueued && !m_posted && m_claimed && m_target;
    if (queuePost)
        m_postQueued = true;
    if (queued > maxInboundQueue) {
        if (!m_readBlocked)
            counters.readPauses.fetch_add(1, std::memory_order_relaxed);
        m_readBlocked = true;
        return true;
    }
    return false;
}

void Channel::finish(InEvent disconnected, bool &queuePost)
{
    std::lock_guard lock(m_mutex);
    m_inbox.push_back(std::move(disconnected));
    m_finished = true;
    worker = nullptr;
    m_outbox.clear();
    m_queuedForWorker = false;
    counters.outboundQueued.store(0, std::memory_order_relaxed);
    queuePost = !m_postQueued && !m_posted && m_claimed && m_target;
    if (queuePost)
        m_postQueued = true;
}

std::vector<OutCommand> Channel::takeCommands(bool &readBlocked)
{
    std::lock_guard lock(m_mutex);
    m_queuedForWorker = false;
    readBlocked = m_readBlocked;
    return std::exchange(m_outbox, {});
}

void Channel::flushPost(std::vector<std::shared_ptr<Channel>> &round)
{
    std::lock_guard lock(m_mutex);
    m_postQueued = false;
    if (!m_inRound) {
        postLocked();
        return;
    }
    if (m_posted || !m_claimed || !m_target || m_inbox.empty())
        return;
    m_posted = true;   // outstanding: the server's round event carries it
    round.push_back(shared_from_this());
}

#if defined(__SANITIZE_THREAD__)
// The token of postEngineEvent() and deleteLaterAmongEnginePosts(): its acquire/release pairs stand for
// Qt's (invisible) post-event mutex.
static char postToken;
#endif

void postEngineEvent(QObject *receiver, QEvent *event)
{
#if defined(__SANITIZE_THREAD__)
    tsanAcquire(&postToken);
    QCoreApplication::postEvent(receiver, event);
    tsanRelease(&postToken);
#else
    QCoreApplication::postEvent(receiver, event);
#endif
}

void deleteLaterAmongEnginePosts(QObject *object)
{
#if defined(__SANITIZE_THREAD__)
    tsanAcquire(&postToken);
    object->deleteLater();
    tsanRelease(&postToken);
#else
    object->deleteLater();
#endif
}

void Channel::postLocked()
{
    if (m_posted || !m_claimed || !m_target || m_inbox.empty())
        return;
    m_posted = true;
    postEventLocked();
}

void Channel::postEventLocked()
{
    auto *event = new QEvent(batchEventType());
    tsanRelease(event);
    postEngineEvent(m_target, event);
}

void Channel::wakeWorkerLocked()
{
    if (m_queuedForWorker || !worker)
        return;
    m_queuedForWorker = true;
    if (t_deferred.depth > 0) {
        t_deferred.channels.push_back(shared_from_this());
        return;
    }
    worker->schedule(shared_from_this());
}

// The engine paused reading this socket (the owner was behind) and may read again. Not deferred to the end
// of the owner's pass like other wake-ups: the owner may block right after it (nothing else it does then
// needs the engine), and the socket must not wait for its next pass. Once per pause, so the wake-up of
// its own costs nothing that shows; if the channel also waits in the deferred list, the engine looks at
// it twice, the second time finding nothing to do.
void Channel::resumeReadingLocked()
{
    if (!worker)
        return;
    m_queuedForWorker = true;
    worker->schedule(shared_from_this());
}

void Channel::recycleEvents(std::vector<InEvent> &&events)
{
    if (events.capacity() == 0 || t_deferred.spareEvents.size() >= Worker::kMaxSpareEventVectors)
        return;
    // What is left must be the engine's alone: a string a slot kept (shared) is dropped, not written
    // over; large ones are not worth keeping per event.
    constexpr qsizetype kMaxKept = 4096;
    for (InEvent &event : events) {
        if (!event.text.isDetached() || event.text.capacity() > kMaxKept)
            event.text = QString();
        if (!event.data.isDetached() || event.data.capacity() > kMaxKept)
            event.data = QByteArray();
    }
    t_deferred.spareEvents.push_back(std::move(events));
}

std::shared_ptr<Worker> Channel::deferredWorker()
{
    std::lock_guard lock(m_mutex);
    // Under the lock the worker is alive (it forgets the channel in finish() before it goes away); the
    // reference keeps it so until schedule() has returned.
    std::shared_ptr<Worker> alive = worker ? worker->weak_from_this().lock() : nullptr;
    if (!alive)
        m_queuedForWorker = false;
    return alive;
}

void Channel::beginOwnerBatch()
{
    ++t_deferred.depth;
}

void Channel::endOwnerBatch()
{
    --t_deferred.depth;
    if (t_deferred.channels.empty() || t_deferred.flushPosted)
        return;
    if (t_deferred.channels.size() >= 256) {
        flushDeferredWakes();
        return;
    }
    if (hookedToDispatcher())
        return;   // flushed when this iteration of the event loop has delivered its posted events
    // Same priority as the batch events: it runs after those already queued, before later ones.
    t_deferred.flushPosted = true;
    postEngineEvent(flusher(), new QEvent(flushEventType()));
}

// ---- owner side ----------------------------------------------------------------------------------

void Channel::setTarget(QObject *target, bool claimed, bool inRound)
{
    std::lock_guard lock(m_mutex);
    m_target = target;
    m_claimed = claimed;
    m_inRound = target && inRound;
    if (!target)
        m_posted = false;   // Qt drops the posted events of a deleted object
    postLocked();
}

void Channel::leaveRound()
{
    std::lock_guard lock(m_mutex);
    m_inRound = false;
}

QObject *Channel::takeRoundTurn()
{
    std::lock_guard lock(m_mutex);
    if (!m_posted || !m_target)
        return nullptr;
    // While m_inRound holds, the target has not moved since it was made (moveToThread() sends
    // ThreadChange, which clears the flag under this lock, before it changes the object's thread), so
    // reading its thread here races with nothing. The round may still arrive elsewhere: the server
    // itself moved to another thread.
    if (!m_inRound || m_target->thread() != QThread::currentThread()) {
        // Its batch goes to it the usual way; it stays outstanding (m_posted).
        postEventLocked();
        return nullptr;
    }
    return m_target;
}

void Channel::claim()
{
    std::lock_guard lock(m_mutex);
    m_claimed = true;
    postLocked();
}

std::vector<InEvent> Channel::takeEvents()
{
    std::lock_guard lock(m_mutex);
    m_posted = false;
    counters.inboundQueued.store(0, std::memory_order_relaxed);
    if (m_readBlocked) {
        m_readBlocked = false;
        resumeReadingLocked();
    }
    if (m_inboxHead > 0)
        m_inbox.erase(m_inbox.begin(), m_inbox.begin() + std::ptrdiff_t(m_inboxHead));
    m_inboxHead = 0;
    return std::exchange(m_inbox, {});
}

bool Channel::takeSlice(std::vector<InEvent> &out, std::size_t max)
{
    out.clear();
    std::lock_guard lock(m_mutex);
    if (m_inboxHead == 0 && m_inbox.size() <= max) {
        // The common case (a small batch): hand the whole vector over, no copy, no allocation.
        std::swap(out, m_inbox);
        m_inbox.clear();
        counters.inboundQueued.store(0, std::memory_order_relaxed);
        if (m_readBlocked) {
            m_readBlocked = false;
            resumeReadingLocked();
        }
        m_posted = false;
        return false;
    }
    const std::size_t count = std::min(max, m_inbox.size() - m_inboxHead);
    const auto first = m_inbox.begin() + std::ptrdiff_t(m_inboxHead);
    std::move(first, first + std::ptrdiff_t(count), std::back_inserter(out));
    qint64 queued = counters.inboundQueued.load(std::memory_order_relaxed);
    for (const InEvent &event : out) {
        if (event.kind == InEvent::Kind::Text || event.kind == InEvent::Kind::Binary)
            queued -= event.number;
    }
    if (releaseLocked(count))
        queued = 0;   // everything counted was taken (only messages count)
    counters.inboundQueued.store(queued, std::memory_order_relaxed);
    if (m_readBlocked && queued <= maxInboundQueue / 2) {
        m_readBlocked = false;
        resumeReadingLocked();
    }
    if (m_inboxHead < m_inbox.size())
        return true;
    m_posted = false;
    return false;
}

bool Channel::releaseLocked(std::size_t count)
{
    m_inboxHead += std::uint32_t(count);
    if (m_inboxHead >= m_inbox.size()) {
        m_inbox.clear();   // only moved-from shells are left
        m_inboxHead = 0;
        return true;
    }
    if (m_inboxHead >= 1024 && m_inboxHead * 2 >= m_inbox.size()) {
        // The engine may append as fast as the owner takes: drop the taken shells now and then so
        // the inbox does not grow while it never quite empties (amortised O(1) per event).
        m_inbox.erase(m_inbox.begin(), m_inbox.begin() + std::ptrdiff_t(m_inboxHead));
        m_inboxHead = 0;
    }
    return false;
}

void Channel::repost()
{
    std::lock_guard lock(m_mutex);
    m_posted = false;
    postLocked();
}

std::chrono::steady_clock::time_point Channel::ownerPassDeadline()
{
    const auto now = std::chrono::steady_clock::now();
    if (!t_pass.active) {
        t_pass.active = true;
        t_pass.deadline = now + defaults::kOwnerSliceBudget;
        if (!hookedToDispatcher())
            postEngineEvent(flusher(), new QEvent(passEndEventType()));
    } else if (now > t_pass.deadline + std::chrono::milliseconds(250)) {
        // The marker has not run for long (a caller that sends only some posted events, or a
        // nested loop): never let a stale pass hold delivery back; start a new budget.
        t_pass.deadline = now + defaults::kOwnerSliceBudget;
    }
    return t_pass.deadline;
}

bool Channel::submit(OutCommand &&command, qint64 charge)
{
    std::lock_guard lock(m_mutex);
    if (!worker)
        return false;
    if (m_outbox.capacity() == 0)
        m_outbox.reserve(8);   // the engine takes the whole vector: room for a round's replies at once
    m_outbox.push_back(std::move(command));
    if (charge)
        counters.outboundQueued.fetch_add(charge, std::memory_order_relaxed);
    wakeWorkerLocked();
    return true;
}

bool Channel::setUserPaused(bool paused)
{
    std::lock_guard lock(m_mutex);
    userPaused.store(paused, std::memory_order_release);
    if (!worker)
        return false;
    wakeWorkerLocked();
    return true;
}

bool Channel::isFinished() const
{
    std::lock_guard lock(m_mutex);
    return m_finished;
}

qint64 Channel::undeliveredBytes() const
{
    std::lock_guard lock(m_mutex);
    return counters.inboundQueued.load(std::memory_order_relaxed);
}

} // namespace qws
