// SPDX-License-Identifier: BSD-3-Clause
// Channel: the per-connection, lock-protected hand-off between an engine thread and the owner thread.
#include "eventbatch_p.h"

#include "worker_p.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QObject>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace qws {

namespace {

QEvent::Type flushEventType()
{
    static const QEvent::Type type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

/// Per owner thread: worker wake-ups deferred while batches are handled.
struct DeferredWakes {
    int depth = 0;
    bool flushPosted = false;
    std::vector<std::shared_ptr<Channel>> channels;
    std::unique_ptr<QObject> flusher;
};
thread_local DeferredWakes t_deferred;

void flushDeferredWakes()
{
    t_deferred.flushPosted = false;
    std::vector<std::shared_ptr<Channel>> channels = std::exchange(t_deferred.channels, {});
    for (const std::shared_ptr<Channel> &channel : channels)
        channel->wakeDeferred();
}

class WakeFlusher final : public QObject
{
public:
    bool event(QEvent *event) override
    {
        if (event->type() != flushEventType())
            return QObject::event(event);
        flushDeferredWakes();
        return true;
    }
};

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
    qsizetype start = 0;
    for (int i = 0; i < which; ++i) {
        const qsizetype end = request.indexOf('\0', start);
        if (end < 0)
            return QByteArray();
        start = end + 1;
    }
    const qsizetype end = request.indexOf('\0', start);
    return end < 0 ? QByteArray() : request.mid(start, end - start);
}

QByteArrayView ConnectionInfo::headerBlock() const
{
    qsizetype start = 0;
    for (int i = 0; i < FieldCount; ++i) {
        const qsizetype end = request.indexOf('\0', start);
        if (end < 0)
            return QByteArrayView();
        start = end + 1;
    }
    return QByteArrayView(request).sliced(start);
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
    m_inboxBytes += bytes;
    counters.inboundQueued.store(m_inboxBytes, std::memory_order_relaxed);
    queuePost = !m_postQueued && !m_posted && m_claimed && m_target;
    if (queuePost)
        m_postQueued = true;
    if (m_inboxBytes > maxInboundQueue) {
        if (!m_readBlocked)
            counters.readPauses.fetch_add(1, std::memory_order_relaxed);
        m_readBlocked = true;
        return true;
    }
    return false;
}

void Channel::finish(InEvent disconnected)
{
    std::lock_guard lock(m_mutex);
    m_inbox.push_back(std::move(disconnected));
    m_finished = true;
    worker = nullptr;
    m_outbox.clear();
    m_queuedForWorker = false;
    counters.outboundQueued.store(0, std::memory_order_relaxed);
    counters.inboundQueued.store(m_inboxBytes, std::memory_order_relaxed);
    postLocked();
}

std::vector<OutCommand> Channel::takeCommands(bool &readBlocked)
{
    std::lock_guard lock(m_mutex);
    m_queuedForWorker = false;
    readBlocked = m_readBlocked;
    return std::exchange(m_outbox, {});
}

void Channel::flushPost()
{
    std::lock_guard lock(m_mutex);
    m_postQueued = false;
    postLocked();
}

void Channel::postLocked()
{
    if (m_posted || !m_claimed || !m_target || m_inbox.empty())
        return;
    m_posted = true;
    auto *event = new QEvent(batchEventType());
    tsanRelease(event);
    QCoreApplication::postEvent(m_target, event);
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

void Channel::wakeDeferred()
{
    std::lock_guard lock(m_mutex);
    if (worker)
        worker->schedule(shared_from_this());
    else
        m_queuedForWorker = false;
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
    // Same priority as the batch events: it runs after those already queued, before later ones.
    if (!t_deferred.flusher)
        t_deferred.flusher = std::make_unique<WakeFlusher>();
    t_deferred.flushPosted = true;
    QCoreApplication::postEvent(t_deferred.flusher.get(), new QEvent(flushEventType()));
}

// ---- owner side ----------------------------------------------------------------------------------

void Channel::setTarget(QObject *target, bool claimed)
{
    std::lock_guard lock(m_mutex);
    m_target = target;
    m_claimed = claimed;
    if (!target)
        m_posted = false;   // Qt drops the posted events of a deleted object
    postLocked();
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
    m_inboxBytes = 0;
    counters.inboundQueued.store(0, std::memory_order_relaxed);
    if (m_readBlocked) {
        m_readBlocked = false;
        wakeWorkerLocked();
    }
    return std::exchange(m_inbox, {});
}

bool Channel::submit(OutCommand &&command, qint64 charge)
{
    std::lock_guard lock(m_mutex);
    if (!worker)
        return false;
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
    return m_inboxBytes;
}

} // namespace qws
