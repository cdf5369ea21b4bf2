// SPDX-License-Identifier: BSD-3-Clause
// The readiness seam under one engine thread: epoll (Linux, default) or poll(2) (portable fallback).
//
//  W A R N I N G  — private engine header, not installed; it may change without notice.
#pragma once

#include <QtCore/QString>

#include <cstdint>
#include <memory>
#include <span>

namespace qws {

/// One ready descriptor, as reported by Poller::wait().
struct PollEvent {
    std::uint64_t tag;      ///< what the worker registered the fd with
    std::uint32_t events;   ///< Poller::Readable | Writable | HangUp (hang-up and error set all three)
};

/// Used by one worker thread; only wake() may be called from other threads. The worker pays one
/// indirect call per wait() batch, none per event.
///
/// Two ways of following a connection, told apart by levelTriggered():
/// - epoll: registered once, edge-triggered for read and write; setInterest() is never needed.
/// - poll: level-triggered, so a connection must only ask for what it is waiting for (read after
///   EAGAIN, write while output is pending) or wait() would return at once forever. An fd with no
///   interest is not polled at all (not even for hang-up).
class Poller
{
public:
    /// HangUp: the peer shut its side down or the socket failed (epoll: EPOLLRDHUP, EPOLLHUP, EPOLLERR;
    /// poll: POLLHUP, POLLERR). Until it is seen, a short read of a plain socket means its receive
    /// queue is empty, so the peer does not read again to see EAGAIN (Peer::readSome()).
    enum : std::uint32_t { Readable = 0x1, Writable = 0x2, HangUp = 0x4 };
    static constexpr std::uint64_t kWakeTag = ~std::uint64_t(0);

    virtual ~Poller() = default;
    Poller(const Poller &) = delete;
    Poller &operator=(const Poller &) = delete;

    /// The backend named by the environment variable QWS_POLLER ("epoll" or "poll"), else the
    /// platform's default (epoll on Linux, poll elsewhere). nullptr with `errorString` set on failure.
    static std::unique_ptr<Poller> create(QString *errorString);

    const char *name() const { return m_name; }
    bool levelTriggered() const { return m_levelTriggered; }

    /// A connection. epoll ignores `interest` (edge-triggered read + write); poll starts with it.
    virtual bool addConnection(int fd, std::uint64_t tag, std::uint32_t interest) = 0;
    /// Level-triggered backends only: what the connection waits for now (0: nothing).
    virtual void setInterest(int fd, std::uint32_t interest) = 0;
    /// A listening socket shared by every worker: level-triggered read (epoll: EPOLLEXCLUSIVE, so one
    /// worker wakes per connection; poll: all wake and the losers' accept4() returns EAGAIN).
    virtual bool addListener(int fd, std::uint64_t tag) = 0;
    /// Forgets `fd` (unknown fds are ignored). Call before closing it.
    virtual void remove(int fd) = 0;
    /// Forgets `fd`, which is about to be closed and is the only descriptor of its socket (we
    /// accepted it). epoll drops such a socket by itself when it is closed, so this costs no
    /// syscall there; events already queued carry the old tag, whose generation no longer matches.
    virtual void removeBeforeLastClose(int fd) { remove(fd); }
    /// Blocks up to `timeoutMs` (-1: no limit). A wake() shows up as an event tagged kWakeTag (already
    /// drained). The span stays valid until the next wait(); add/remove/setInterest do not touch it.
    virtual std::span<const PollEvent> wait(int timeoutMs) = 0;
    /// Any thread: makes a blocked wait() return.
    virtual void wake() = 0;

protected:
    Poller(const char *name, bool levelTriggered)
        : m_name(name)
        , m_levelTriggered(levelTriggered)
    {
    }

private:
    const char *const m_name;
    const bool m_levelTriggered;
};

#ifdef QWS_HAVE_EPOLL
std::unique_ptr<Poller> makeEpollPoller(QString *errorString);   // poller_epoll.cpp
#endif
std::unique_ptr<Poller> makePollPoller(QString *errorString);    // poller_poll.cpp

} // namespace qws
