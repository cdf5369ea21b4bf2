// SPDX-License-Identifier: BSD-3-Clause
// One engine thread: a readiness loop (Poller) owning raw non-blocking sockets, one protocol core per peer, timers.
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include "eventbatch_p.h"
#include "readblocks_p.h"
#include "spareevents_p.h"
#include "websocketserver.h"

#include <protocol/connection.h>

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslError>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include <sys/socket.h>

QT_BEGIN_NAMESPACE
class QSslPreSharedKeyAuthenticator;
QT_END_NAMESPACE

namespace qws {

class Channel;
class Peer;
class Poller;
class Transport;
class Worker;

// =================================================================================================
// The TLS hook. tls_p.h/.cpp (the TLS layer) DEFINES these; the engine only declares and calls them.
// CMake compiles them in when plugin/server/tls_p.cpp exists (QWS_HAVE_TLS); without it, listen()
// in SecureMode fails with "TLS support is not built into this QuickWebSockets library".
// =================================================================================================

/// An OpenSSL server context translated from a QSslConfiguration (defined in tls_p.h). Shared by
/// every connection of one listen(); transports keep a reference to it.
class TlsContext;

/// What the TLS layer reports back to the server. Implemented by WebSocketServerPrivate.
class TlsEvents
{
public:
    virtual ~TlsEvents() = default;
    /// Queued to the server's thread as WebSocketServer::sslErrors(). Any thread.
    virtual void sslErrors(const QList<QSslError> &errors) = 0;
    /// Queued to the server's thread as WebSocketServer::peerVerifyError(). Any thread.
    virtual void peerVerifyError(const QSslError &error) = 0;
    /// Emits WebSocketServer::preSharedKeyAuthenticationRequired() DIRECTLY on the calling engine
    /// thread (like originAuthenticationRequired) so the slot can fill in the key before returning.
    virtual void preSharedKeyAuthenticationRequired(QSslPreSharedKeyAuthenticator *authenticator) = 0;
};

#ifdef QWS_HAVE_TLS
/// Builds the context from `configuration` (certificate chain, key, CA certificates, peer
/// verification, protocol floor, PSK). Returns nullptr and sets `errorString` to a specific text
/// ("no private key in the SSL configuration", …) on failure. `events` outlives the context.
/// Called on the server's (owner) thread by listen() in SecureMode.
std::shared_ptr<TlsContext> makeTlsContext(const QSslConfiguration &configuration, TlsEvents &events,
                                           QString &errorString);
/// A server-side TLS stream over the accepted, non-blocking socket `fd`; takes ownership of `fd`
/// (closes it when destroyed). Its handshake() is driven by the worker until Ok or Failed. Called on
/// an engine thread.
std::unique_ptr<Transport> makeTlsTransport(int fd, TlsContext &context);
#endif

/// Every engine setting, as one immutable snapshot; a new one is made when a setter runs, and each
/// connection uses the snapshot current when it was accepted ("only new clients see a change").
struct EngineConfig {
    protocol::ConnectionConfig connection;
    qint64 handshakeTimeoutMs = defaults::kHandshakeTimeoutMs; ///< < 0: no handshake timeout
    int maxPendingConnections = defaults::kMaxPendingConnections;
    qint64 keepAliveMs = 0;                ///< 0: no keepalive pings
    qint64 idleTimeoutMs = 0;              ///< 0: no idle timeout
    qint64 closeTimeoutMs = 5000;          ///< wait this long for the peer's close frame, then drop TCP
    qint64 lingerMs = 2000;                ///< after our last byte, wait this long for the peer's FIN
    qint64 maxInboundQueue = defaults::kMaxInboundQueue;
    qint64 maxOutboundQueue = defaults::kMaxOutboundQueue;
    OutboundPolicy outboundPolicy = OutboundPolicy::CloseConnection;
    std::shared_ptr<const EngineMessageHandler> messageHandler;   ///< null: every message goes to the owner
    QStringList allowedOrigins;            ///< empty: all
    bool secure = false;
    std::shared_ptr<TlsContext> tls;       ///< set in SecureMode
};

/// What a worker needs from its server. Every function may be called from any engine thread.
class WorkerHost
{
public:
    virtual ~WorkerHost() = default;
    virtual std::shared_ptr<const EngineConfig> config() const = 0;
    /// allowedOrigins first, then originAuthenticationRequired (direct, on this thread).
    virtual bool authorizeOrigin(const QString &origin) = 0;
    /// Takes a place in the pending queue; false when it is full (the handshake is refused with 503).
    virtual bool reservePending() = 0;
    /// True while the server's thread lags behind the handshakes already done for it (an owner busy
    /// in a storm): the workers stop accepting for a moment, so new clients wait in the kernel's
    /// backlog instead of being refused with 503 once the bound of reservePending() is reached.
    virtual bool ownerBehind() const = 0;
    /// A refused handshake because the pending queue was full: serverError(CloseCodeAbnormalDisconnection).
    virtual void pendingQueueFull() = 0;
    /// The handshake completed: the server's thread makes the WebSocket and emits newConnection().
    virtual void connectionOpened(std::shared_ptr<Channel> channel) = 0;
    /// An opened connection is gone (connectionCount()).
    virtual void connectionClosed() = 0;
    virtual void acceptError(QAbstractSocket::SocketError error, const QString &text) = 0;
    /// A TLS handshake failed (counted, logged to qws.tls).
    virtual void tlsHandshakeFailed(const QString &reason) = 0;
    /// True while WebSocketServer::handshakeFailed() is connected (an atomic load): only then does a
    /// peer build the text and call handshakeFailed(), so unwatched failures cost nothing.
    virtual bool wantsHandshakeFailures() const = 0;
    /// A client's opening handshake failed: queued (capped per batch) to the server's thread.
    virtual void handshakeFailed(const SocketAddress &peer, WebSocketServer::HandshakeFailure reason,
                                 const QString &errorString) = 0;
    /// A worker told to shut down gracefully has no connections left.
    virtual void workerDrained(Worker *worker) = 0;
    /// The end of one loop iteration of an engine thread: the channels in `round` (their WebSockets
    /// live on the server's thread) have batches outstanding. The server's thread gets them, with the
    /// server events of the iteration, in ONE posted event, so the owner wakes once per iteration and
    /// only after the engine posted everything (a wake-up per channel would let the owner run, and on a
    /// shared core preempt the engine, after each one).
    virtual void deliverRound(std::vector<std::shared_ptr<Channel>> &&round) = 0;
};

/// Every worker polls the one listening socket (epoll: EPOLLEXCLUSIVE) and accepts for itself
/// (accept4), so connections spread over the threads without a hand-off; handleConnection() sockets
/// are handed to workers round-robin through adopt(). The Poller backend is chosen in start()
/// (QWS_POLLER, see poller_p.h).
class Worker : public std::enable_shared_from_this<Worker>
{
public:
    Worker(WorkerHost &host, int index);
    ~Worker();   // stop()s

    bool start(QString *errorString);

    // ---- any thread ---------------------------------------------------------------------------
    /// Starts (fd >= 0) or stops (fd = -1) polling a listening socket. Blocks until the worker has
    /// done it, so the caller may close the fd afterwards.
    void setListener(int fd);
    /// Stops/restarts polling the listener; like setListener(), returns once the worker has done it.
    void setAccepting(bool accepting);
    /// Takes over a connected socket (handleConnection()) with bytes already read from it.
    void adopt(int fd, QByteArray initialBytes);
    /// The channel has commands or flags for its peer (called by Channel with its lock held).
    void schedule(std::shared_ptr<Channel> channel);
    /// The same for many channels with one wake-up (the owner's deferred wake-ups of one round), and
    /// the event vectors the owner is done with (their strings' storage is reused by nextEvent()).
    /// Both vectors are emptied (moved from), not taken: they keep their capacity for the next round.
    void schedule(std::vector<std::shared_ptr<Channel>> &channels, std::vector<std::vector<InEvent>> &spareEvents);
    /// True on an engine thread (inside Worker::run()).
    static bool onEngineThread();
    /// Graceful: 1001 to every open connection, refuse handshakes, report workerDrained() when empty.
    void beginShutdown();
    /// Immediate: what the owner queued is still written, then 1001, for at most 2 s (peers that do
    /// not read lose the rest); then every socket is closed and the thread joined.
    void stop();
    int peerCount() const { return m_peerCount.load(std::memory_order_relaxed); }
    int index() const { return m_index; }

    // ---- worker thread (used by Peer) -------------------------------------------------------
    WorkerHost &host() { return m_host; }
    qint64 now() const { return m_now; }
    /// Where reads land and large binary messages live (ReadBlocks).
    ReadBlocks &readBlocks() { return m_readBlocks; }
    static constexpr std::size_t kReadBufferSize = ReadBlocks::kReadSize;
    /// The next event a peer collects for its channel (translate(), onPong()). Its kind, code, error
    /// and number are reset; its text and data may hold an earlier message's storage (a vector the
    /// owner gave back, see Channel::recycleEvents()), which assignText()/assignBytes() reuse, so a
    /// steady stream of small messages allocates no QString per message.
    InEvent &nextEvent();
    bool hasEvents() const { return m_scratchUsed > 0; }
    /// The events collected since the last call, for Channel::deliver() (which usually takes the
    /// whole vector); the caller clears what is left.
    std::vector<InEvent> &takeEvents();
    static constexpr std::size_t kScratchEvents = 16;
    /// Spare event vectors kept for nextEvent(): the bounds of SpareEvents (also the most the owner
    /// sends back per wake-up; the rest it frees).
    static constexpr std::size_t kMaxSpareEventVectors = SpareEvents::kMaxVectors;
    /// What the protocol cores of this thread's peers reuse from one read to the next (events vector,
    /// payload buffers, a MessageAssembler): no allocation per small message in the core.
    protocol::ReceiveScratch &receiveScratch() { return m_receiveScratch; }
    /// What the engine message handler's replies to the peer being translated add to its counters,
    /// added to them once per read (Peer::translate()), not per reply: each is a locked instruction.
    struct ReplyTally {
        qint64 queued = 0;
        quint64 messages = 0;
        quint64 bytes = 0;
        bool refused = false;   ///< a reply passed maxOutboundQueue (the owner hears of it once per read)
        bool closing = false;   ///< … and the engine began closing with 1008 for it
    };
    ReplyTally &replyTally() { return m_replyTally; }
    void scheduleTimer(Peer *peer, qint64 when);
    /// True with a level-triggered Poller (poll): peers must report their interest (setInterest).
    bool levelTriggered() const { return m_levelTriggered; }
    /// Level-triggered pollers only: Poller::Readable | Writable that `peer` is waiting for.
    void setInterest(Peer *peer, std::uint32_t interest);
    void markReady(Peer *peer);
    void retire(Peer *peer);
    /// The channel has events for its owner: posted at the end of this loop iteration.
    void queuePost(const std::shared_ptr<Channel> &channel) { m_toPost.push_back(channel); }
    bool shuttingDown() const { return m_shuttingDown; }

private:
    struct Command {
        enum class Kind { Listener, Accepting, Adopt, Shutdown } kind;
        int fd = -1;
        bool flag = false;
        QByteArray bytes;
        std::shared_ptr<std::promise<void>> done;
    };
    struct Timer {
        qint64 when;
        std::uint32_t slot;
        std::uint32_t generation;
        bool operator>(const Timer &o) const { return when > o.when; }
    };
    /// The deadlines, earliest first. Gives memory back: every connection leaves one handshake
    /// deadline behind, so after many connections opened at once the heap held their count, and
    /// std::priority_queue alone would keep that capacity for ever (16 bytes per connection).
    struct TimerQueue : std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> {
        void shrinkIfSparse()
        {
            if (c.capacity() > 1024 && c.size() * 4 < c.capacity())
                c.shrink_to_fit();
        }
    };

    void run();
    void wake();
    void runAndWait(Command command);
    void processCommands();
    void acceptConnections();
    void addPeer(int fd, QByteArray initialBytes, const sockaddr_storage *acceptedFrom = nullptr);
    void updateListenerPolling();
    void prepareListener();
    int nextTimeout();
    void runTimers();
    void reapRetired();
    void flushPosts();
    void abortAll();
    void checkDrained();
    bool flushingBeforeStop(qint64 &deadline);
    int loopTimeout(qint64 stopDeadline);
    static qint64 monotonicMs();

    WorkerHost &m_host;
    const int m_index;
    std::unique_ptr<Poller> m_poller;
    bool m_levelTriggered = false;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_peerCount{0};

    std::mutex m_mutex;                          // guards the next three
    std::vector<Command> m_commands;
    std::vector<std::shared_ptr<Channel>> m_dirty;
    std::vector<std::vector<InEvent>> m_returnedEvents;
    // worker thread: what processCommands() swaps the three above with (capacity kept both ways)
    std::vector<Command> m_commandsTaken;
    std::vector<std::shared_ptr<Channel>> m_dirtyTaken;
    std::vector<std::vector<InEvent>> m_returnedTaken;
    bool m_processingCommands = false;
    bool m_wakePending = false;

    // worker-thread state
    qint64 m_now = 0;
    std::vector<InEvent> m_scratch;
    std::size_t m_scratchUsed = 0;               // m_scratch[used, size) are spares to overwrite
    SpareEvents m_spareEvents;
    protocol::ReceiveScratch m_receiveScratch;
    ReplyTally m_replyTally;
    ReadBlocks m_readBlocks;
    std::vector<Peer *> m_peers;                 // slot → peer (nullptr: free)
    std::vector<std::uint32_t> m_freeSlots;
    std::uint32_t m_generation = 0;              // tells a reused slot's new peer from the old one
    std::vector<Peer *> m_ready;                 // peers with read budget left over (fairness)
    std::vector<Peer *> m_retired;
    std::vector<std::shared_ptr<Channel>> m_toPost;
    TimerQueue m_timers;
    int m_listenFd = -1;
    /// The listener's own address when it is bound to one (not a wildcard): every connection it
    /// accepts has that local address, so no getsockname() per connection. ss_family 0: unknown.
    sockaddr_storage m_listenLocal{};
    bool m_accepting = true;
    bool m_listenPolled = false;
    qint64 m_listenRetryAt = 0;                  // after EMFILE: poll the listener again at this time
    bool m_shuttingDown = false;
    bool m_drainedReported = false;

    friend class Peer;
};

} // namespace qws
