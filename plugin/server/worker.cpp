// SPDX-License-Identifier: BSD-3-Clause
// Worker: one engine thread. A Poller (epoll edge-triggered, or poll(2) level-triggered) with its
// wake-up for commands, a min-heap of deadlines driving the wait's timeout, and accept4() on the shared
// listening socket.
#include "worker_p.h"

#include "eventbatch_p.h"
#include "logging_p.h"
#include "peer_p.h"
#include "poller_p.h"
#ifdef QWS_HAVE_TLS
#  include "tls_p.h"
#endif

#include <QtCore/QScopeGuard>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

namespace qws {

namespace {
constexpr std::uint64_t kListenId = Poller::kWakeTag - 1;
constexpr int kAcceptBurst = 64;
/// How long accepting pauses while the owner is behind (WorkerHost::ownerBehind()).
constexpr qint64 kOwnerBehindRetryMs = 5;
/// stop(): how long queued output (and the 1001 after it) may still take to reach peers.
constexpr qint64 kStopFlushMs = 2000;

std::uint64_t peerId(const Peer *peer)
{
    return (std::uint64_t(peer->generation) << 32) | peer->slot;
}
} // namespace

Worker::Worker(WorkerHost &host, int index)
    : m_host(host)
    , m_index(index)
{
    m_receiveScratch.allocator = &m_readBlocks;
}

Worker::~Worker()
{
    stop();
}

bool Worker::start(QString *errorString)
{
    m_poller = Poller::create(errorString);
    if (!m_poller)
        return false;
    m_levelTriggered = m_poller->levelTriggered();
    qCDebug(lcServer).nospace() << "engine thread " << m_index << ": poller: " << m_poller->name();
    m_thread = std::thread([this] { run(); });
    return true;
}

// ---- any thread ----------------------------------------------------------------------------------

void Worker::wake()
{
    m_poller->wake();
}

void Worker::runAndWait(Command command)
{
    if (!m_thread.joinable())
        return;
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> future = done->get_future();
    command.done = done;
    {
        std::lock_guard lock(m_mutex);
        m_commands.push_back(std::move(command));
        if (!m_wakePending) {
            m_wakePending = true;
            wake();
        }
    }
    if (std::this_thread::get_id() == m_thread.get_id())
        processCommands();   // called from a slot running on this engine thread
    future.wait();
}

void Worker::setListener(int fd)
{
    runAndWait({Command::Kind::Listener, fd, false, {}, nullptr});
}

void Worker::setAccepting(bool accepting)
{
    runAndWait({Command::Kind::Accepting, -1, accepting, {}, nullptr});
}

void Worker::adopt(int fd, QByteArray initialBytes)
{
    std::lock_guard lock(m_mutex);
    m_commands.push_back({Command::Kind::Adopt, fd, false, std::move(initialBytes), nullptr});
    if (!m_wakePending) {
        m_wakePending = true;
        wake();
    }
}

// The wake-up is written after the lock is released: a worker woken on a shared core may run at once,
// and would only block on the lock still held here.
void Worker::schedule(std::shared_ptr<Channel> channel)
{
    {
        std::lock_guard lock(m_mutex);
        m_dirty.push_back(std::move(channel));
        if (std::exchange(m_wakePending, true))
            return;
    }
    wake();
}

void Worker::schedule(std::vector<std::shared_ptr<Channel>> &channels,
                      std::vector<std::vector<InEvent>> &spareEvents)
{
    {
        std::lock_guard lock(m_mutex);
        std::move(channels.begin(), channels.end(), std::back_inserter(m_dirty));
        for (std::vector<InEvent> &spare : spareEvents) {
            if (m_returnedEvents.size() >= kMaxSpareEventVectors)
                break;   // the rest are freed by the caller, on the owner's thread, as before
            m_returnedEvents.push_back(std::move(spare));
        }
        channels.clear();
        spareEvents.clear();
        if (std::exchange(m_wakePending, true))
            return;
    }
    wake();
}

namespace {
thread_local bool t_onEngineThread = false;
}

bool Worker::onEngineThread()
{
    return t_onEngineThread;
}

void Worker::beginShutdown()
{
    std::lock_guard lock(m_mutex);
    m_commands.push_back({Command::Kind::Shutdown, -1, false, {}, nullptr});
    if (!m_wakePending) {
        m_wakePending = true;
        wake();
    }
}

void Worker::stop()
{
    if (!m_thread.joinable())
        return;
    m_stop.store(true);
    wake();
    m_thread.join();
}

// ---- worker thread -------------------------------------------------------------------------------

qint64 Worker::monotonicMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void Worker::run()
{
    const std::string name = "qws-engine-" + std::to_string(m_index);
    pthread_setname_np(pthread_self(), name.c_str());
    t_onEngineThread = true;
    m_now = monotonicMs();
    qint64 stopDeadline = 0;   // set once stop() was called: see flushingBeforeStop()
    // acquire: what the owner did before stop() (joining the other workers included) happens before the
    // final flush and abortAll() below.
    while (!m_stop.load(std::memory_order_acquire) || flushingBeforeStop(stopDeadline)) {
        const std::span<const PollEvent> events = m_poller->wait(loopTimeout(stopDeadline));
        m_now = monotonicMs();
        for (const PollEvent &event : events) {
            const std::uint64_t id = event.tag;
            if (id == Poller::kWakeTag) {
                processCommands();
            } else if (id == kListenId) {
                acceptConnections();
            } else {
                const std::uint32_t slot = std::uint32_t(id);
                Peer *peer = slot < m_peers.size() ? m_peers[slot] : nullptr;
                if (peer && peer->generation == std::uint32_t(id >> 32) && !peer->isDead())
                    peer->onEvents(event.events);
            }
        }
        if (!m_ready.empty()) {
            std::vector<Peer *> ready = std::exchange(m_ready, {});
            for (Peer *peer : ready) {
                peer->readyQueued = false;
                if (!peer->isDead())
                    peer->onReady();
            }
        }
        runTimers();
        flushPosts();
        reapRetired();
        checkDrained();
    }
    abortAll();
    flushPosts();
    reapRetired();
    if (m_listenPolled)
        m_poller->remove(m_listenFd);
    m_listenPolled = false;
}

// stop(): the server is being destroyed, typically because the application is ending. What the owner
// sent before is still written, in order, then 1001 (shutdownGracefully()): the loop goes on while any
// peer has unsent output, for at most kStopFlushMs, so that a peer that does not read cannot hold the
// application's exit; abortAll() then ends what is left. Handshakes in progress get 503 and the listener
// is no longer polled, so no handshake completes and nothing calls into the server being destroyed (no
// workerDrained() either).
bool Worker::flushingBeforeStop(qint64 &deadline)
{
    if (!deadline) {
        processCommands();   // sends (and closes) the owner queued before stop()
        m_shuttingDown = true;
        m_drainedReported = true;
        updateListenerPolling();   // no new connections while flushing
        for (Peer *peer : m_peers) {
            if (peer && !peer->isDead())
                peer->shutdownGracefully();
        }
        deadline = monotonicMs() + kStopFlushMs;
    }
    const bool unsent = std::any_of(m_peers.begin(), m_peers.end(), [](const Peer *peer) {
        return peer && !peer->isDead() && peer->hasUnsentOutput();
    });
    if (unsent && monotonicMs() >= deadline) {
        qCDebug(lcServer) << "engine stopped with output unsent to peers that did not read it in time";
        return false;
    }
    return unsent;
}

int Worker::loopTimeout(qint64 stopDeadline)
{
    const int next = nextTimeout();
    if (!stopDeadline)
        return next;
    const qint64 left = std::max<qint64>(0, stopDeadline - monotonicMs());
    return next < 0 ? int(left) : int(std::min<qint64>(left, next));
}

void Worker::processCommands()
{
    // Swapped with members that keep their capacity (cleared at the end): no allocation per wake-up.
    // A call made inside another (runAndWait() from a slot on this thread) uses vectors of its own.
    std::vector<Command> nestedCommands;
    std::vector<std::shared_ptr<Channel>> nestedDirty;
    std::vector<std::vector<InEvent>> nestedReturned;
    const bool nested = m_processingCommands;
    std::vector<Command> &commands = nested ? nestedCommands : m_commandsTaken;
    std::vector<std::shared_ptr<Channel>> &dirty = nested ? nestedDirty : m_dirtyTaken;
    std::vector<std::vector<InEvent>> &returned = nested ? nestedReturned : m_returnedTaken;
    m_processingCommands = true;
    const auto done = qScopeGuard([&] {
        commands.clear();
        dirty.clear();
        returned.clear();
        m_processingCommands = nested;
    });
    {
        std::lock_guard lock(m_mutex);
        commands.swap(m_commands);
        dirty.swap(m_dirty);
        returned.swap(m_returnedEvents);
        m_wakePending = false;
    }
    for (std::vector<InEvent> &spare : returned)
        m_spareEvents.give(spare);   // what does not fit is freed with `returned`, on this thread (its strings')
    for (Command &command : commands) {
        switch (command.kind) {
        case Command::Kind::Listener:
            if (m_listenPolled)
                m_poller->remove(m_listenFd);
            m_listenPolled = false;
            m_listenFd = command.fd;
            prepareListener();
            if (m_listenFd >= 0) {
                m_accepting = true;
                m_shuttingDown = false;
                m_drainedReported = false;
            }
            updateListenerPolling();
            break;
        case Command::Kind::Accepting:
            m_accepting = command.flag;
            updateListenerPolling();
            break;
        case Command::Kind::Adopt:
            if (m_shuttingDown)
                ::close(command.fd);
            else
                addPeer(command.fd, std::move(command.bytes));
            break;
        case Command::Kind::Shutdown:
            m_shuttingDown = true;
            m_drainedReported = false;
            for (Peer *peer : m_peers) {
                if (peer && !peer->isDead())
                    peer->shutdownGracefully();
            }
            break;
        }
        if (command.done)
            command.done->set_value();
    }
    for (const std::shared_ptr<Channel> &channel : dirty) {
        if (auto *peer = static_cast<Peer *>(channel->peer); peer && !peer->isDead())
            peer->onCommands();
    }
}

void Worker::updateListenerPolling()
{
    const bool want = m_listenFd >= 0 && m_accepting && !m_shuttingDown && m_now >= m_listenRetryAt;
    if (want == m_listenPolled)
        return;
    if (want) {
        if (m_poller->addListener(m_listenFd, kListenId))
            m_listenPolled = true;
        else
            qCWarning(lcServer) << "cannot poll the listening socket:" << std::strerror(errno);
    } else {
        m_poller->remove(m_listenFd);
        m_listenPolled = false;
    }
}

void Worker::acceptConnections()
{
    for (int i = 0; i < kAcceptBurst && m_listenPolled; ++i) {
        if (m_host.ownerBehind()) {
            // The server's thread has not yet seen hundreds of finished handshakes: let new clients
            // wait in the kernel's backlog (the listener is level-triggered) and look again shortly.
            m_listenRetryAt = m_now + kOwnerBehindRetryMs;
            updateListenerPolling();
            return;
        }
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(m_listenFd, reinterpret_cast<sockaddr *>(&address), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            addPeer(fd, {}, &address);   // accept4 made it non-blocking and gave the peer's address
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM: {
            // Out of descriptors: report, and stop polling for a moment (the listener is
            // level-triggered, so it would otherwise spin).
            const QString text = QString::fromLocal8Bit(std::strerror(errno));
            qCWarning(lcServer) << "accept failed:" << text;
            m_host.acceptError(QAbstractSocket::SocketResourceError, text);
            m_listenRetryAt = m_now + 100;
            updateListenerPolling();
            return;
        }
        default: {
            const QString text = QString::fromLocal8Bit(std::strerror(errno));
            m_host.acceptError(QAbstractSocket::UnknownSocketError, text);
            return;
        }
        }
    }
}

// Linux hands a listener's TCP_NODELAY down to every socket accept4() returns (checked by
// tst_accepted checks it on every server-side socket); elsewhere each accepted socket sets it itself.
#ifdef __linux__
constexpr bool kAcceptedInheritNoDelay = true;
#else
constexpr bool kAcceptedInheritNoDelay = false;
#endif

void Worker::prepareListener()
{
    m_listenLocal = {};
    if (m_listenFd < 0)
        return;
    const int one = 1;
    ::setsockopt(m_listenFd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (::getsockname(m_listenFd, reinterpret_cast<sockaddr *>(&local), &length) != 0)
        return;
    bool wildcard = true;
    if (local.ss_family == AF_INET)
        wildcard = reinterpret_cast<const sockaddr_in &>(local).sin_addr.s_addr == htonl(INADDR_ANY);
    else if (local.ss_family == AF_INET6)
        wildcard = IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6 &>(local).sin6_addr);
    if (!wildcard)
        m_listenLocal = local;
}

void Worker::addPeer(int fd, QByteArray initialBytes, const sockaddr_storage *acceptedFrom)
{
    const int one = 1;
    if (!acceptedFrom || !kAcceptedInheritNoDelay)
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage peerAddress{};
    sockaddr_storage localAddress{};
    socklen_t length = sizeof peerAddress;
    if (acceptedFrom) {   // from our accept4(SOCK_NONBLOCK): two syscalls fewer per connection
        peerAddress = *acceptedFrom;
    } else {
        const int flags = ::fcntl(fd, F_GETFL);
        if (!(flags & O_NONBLOCK))
            ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        ::getpeername(fd, reinterpret_cast<sockaddr *>(&peerAddress), &length);
    }
    if (acceptedFrom && m_listenLocal.ss_family != 0) {
        localAddress = m_listenLocal;   // bound to one address: every accepted socket has it
    } else {
        length = sizeof localAddress;
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&localAddress), &length);
    }

    std::shared_ptr<const EngineConfig> config = m_host.config();
    std::unique_ptr<Transport> tls;   // none: the Peer holds the plain transport itself
    if (config->secure) {
#ifdef QWS_HAVE_TLS
        if (config->tls)
            tls = makeTlsTransport(fd, *config->tls);
#endif
        if (!tls) {
            qCWarning(lcTls) << "no TLS context: connection dropped";
            ::close(fd);
            return;
        }
    }

    std::uint32_t slot;
    if (!m_freeSlots.empty()) {
        slot = m_freeSlots.back();
        m_freeSlots.pop_back();
    } else {
        slot = std::uint32_t(m_peers.size());
        m_peers.push_back(nullptr);
    }
    auto *peer = new Peer(*this, fd, std::move(tls), std::move(config),
                          SocketAddress::fromNative(reinterpret_cast<sockaddr *>(&peerAddress)),
                          SocketAddress::fromNative(reinterpret_cast<sockaddr *>(&localAddress)));
    peer->slot = slot;
    peer->generation = ++m_generation;
    peer->soleDescriptor = acceptedFrom != nullptr;
    m_peers[slot] = peer;
    m_peerCount.fetch_add(1, std::memory_order_relaxed);

    // poll: no interest until the peer's first reschedule() says what it waits for
    if (!m_poller->addConnection(fd, peerId(peer), 0)) {
        qCWarning(lcServer) << "cannot poll a connection:" << std::strerror(errno);
        retire(peer);
        return;
    }
    peer->start(initialBytes);
}

InEvent &Worker::nextEvent()
{
    if (m_scratch.capacity() == 0) {
        m_scratch = m_spareEvents.take();   // elements to overwrite, storage and all
        if (m_scratch.capacity() == 0)
            m_scratch.reserve(kScratchEvents);
        m_scratchUsed = 0;
    }
    if (m_scratchUsed == m_scratch.size())
        m_scratch.emplace_back();
    InEvent &event = m_scratch[m_scratchUsed++];
    event.kind = InEvent::Kind::Text;
    event.code = 0;
    event.error = QAbstractSocket::UnknownSocketError;
    event.number = 0;
    return event;
}

std::vector<InEvent> &Worker::takeEvents()
{
    m_scratch.resize(m_scratchUsed);   // spares left over are freed here, on their engine thread
    m_scratchUsed = 0;
    return m_scratch;
}

void Worker::scheduleTimer(Peer *peer, qint64 when)
{
    m_timers.push({when, peer->slot, peer->generation});
}

void Worker::setInterest(Peer *peer, std::uint32_t interest)
{
    m_poller->setInterest(peer->fd(), interest);
}

void Worker::markReady(Peer *peer)
{
    if (peer->readyQueued)
        return;
    peer->readyQueued = true;
    m_ready.push_back(peer);
}

void Worker::retire(Peer *peer)
{
    m_retired.push_back(peer);
}

int Worker::nextTimeout()
{
    if (!m_ready.empty())
        return 0;
    qint64 when = std::numeric_limits<qint64>::max();
    if (!m_timers.empty())
        when = m_timers.top().when;
    if (m_listenFd >= 0 && !m_listenPolled && m_accepting && !m_shuttingDown)
        when = std::min(when, m_listenRetryAt);
    if (when == std::numeric_limits<qint64>::max())
        return -1;
    const qint64 now = monotonicMs();
    return when <= now ? 0 : int(std::min<qint64>(when - now, 60 * 60 * 1000));
}

void Worker::runTimers()
{
    if (m_listenFd >= 0 && !m_listenPolled && m_now >= m_listenRetryAt)
        updateListenerPolling();
    while (!m_timers.empty() && m_timers.top().when <= m_now) {
        const Timer timer = m_timers.top();
        m_timers.pop();
        Peer *peer = timer.slot < m_peers.size() ? m_peers[timer.slot] : nullptr;
        if (!peer || peer->generation != timer.generation || peer->isDead() || peer->timerWhen != timer.when)
            continue;   // stale: the peer is gone or re-armed its timer
        peer->timerWhen = std::numeric_limits<qint64>::max();
        peer->onTimer();
    }
    m_timers.shrinkIfSparse();
}

void Worker::flushPosts()
{
    std::vector<std::shared_ptr<Channel>> round;
    for (const std::shared_ptr<Channel> &channel : m_toPost)
        channel->flushPost(round);
    m_toPost.clear();
    m_host.deliverRound(std::move(round));
}

void Worker::reapRetired()
{
    for (Peer *peer : m_retired) {
        if (m_peers[peer->slot] == peer) {
            m_peers[peer->slot] = nullptr;
            m_freeSlots.push_back(peer->slot);
        }
        if (peer->fd() >= 0 && peer->soleDescriptor)
            m_poller->removeBeforeLastClose(peer->fd());
        else if (peer->fd() >= 0)
            m_poller->remove(peer->fd());
        m_peerCount.fetch_sub(1, std::memory_order_relaxed);
        delete peer;   // closes the socket (its transport owns it)
    }
    m_retired.clear();
    if (m_peerCount.load(std::memory_order_relaxed) == 0 && m_peers.size() > 64) {
        std::vector<Peer *>().swap(m_peers);
        std::vector<std::uint32_t>().swap(m_freeSlots);
    }
}

void Worker::checkDrained()
{
    if (m_shuttingDown && !m_drainedReported && m_peerCount.load(std::memory_order_relaxed) == 0) {
        m_drainedReported = true;
        m_host.workerDrained(this);
    }
}

void Worker::abortAll()
{
    for (Peer *peer : m_peers) {
        if (peer && !peer->isDead())
            peer->abortNow();
    }
}

} // namespace qws
