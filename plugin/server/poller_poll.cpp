// SPDX-License-Identifier: BSD-3-Clause
// The portable backend: POSIX poll(2), level-triggered, a self-pipe for wake-ups. Also Poller::create(),
// which picks the backend (QWS_POLLER).
#include "poller_p.h"

#include "logging_p.h"

#include <QtCore/QByteArray>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace qws {

namespace {

class PollPoller final : public Poller
{
public:
    PollPoller()
        : Poller("poll", true)
    {
    }
    ~PollPoller() override
    {
        for (int fd : m_pipe) {
            if (fd >= 0)
                ::close(fd);
        }
    }

    bool open(QString *errorString)
    {
        if (::pipe(m_pipe) != 0 || !configure(m_pipe[0]) || !configure(m_pipe[1])) {
            if (errorString)
                *errorString = QStringLiteral("cannot create the engine's event loop (poll): %1")
                                       .arg(QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        add(m_pipe[0], kWakeTag, POLLIN);
        return true;
    }

    bool addConnection(int fd, std::uint64_t tag, std::uint32_t interest) override
    {
        return add(fd, tag, toPoll(interest));
    }

    void setInterest(int fd, std::uint32_t interest) override
    {
        if (fd < 0 || std::size_t(fd) >= m_index.size() || m_index[fd] < 0)
            return;
        pollfd &entry = m_fds[std::size_t(m_index[fd])];
        entry.events = toPoll(interest);
        entry.fd = entry.events ? fd : -1;   // poll() skips negative fds: no hang-up spin either
    }

    bool addListener(int fd, std::uint64_t tag) override { return add(fd, tag, POLLIN); }

    void remove(int fd) override
    {
        if (fd < 0 || std::size_t(fd) >= m_index.size() || m_index[fd] < 0)
            return;
        const std::size_t at = std::size_t(m_index[fd]);
        const std::size_t last = m_fds.size() - 1;
        if (at != last) {
            m_fds[at] = m_fds[last];
            m_entries[at] = m_entries[last];
            m_index[std::size_t(m_entries[at].fd)] = int(at);
        }
        m_fds.pop_back();
        m_entries.pop_back();
        m_index[fd] = -1;
    }

    std::span<const PollEvent> wait(int timeoutMs) override
    {
        m_events.clear();
        const int n = ::poll(m_fds.data(), nfds_t(m_fds.size()), timeoutMs);
        if (n <= 0)
            return {};
        for (std::size_t i = 0; i < m_fds.size() && m_events.size() < std::size_t(n); ++i) {
            const short r = m_fds[i].revents;
            if (!r || m_fds[i].fd < 0)
                continue;
            if (r & POLLNVAL) {   // closed behind our back: stop polling it rather than spin
                m_fds[i].fd = -1;
                continue;
            }
            std::uint32_t events = 0;
            if (r & (POLLIN | POLLHUP | POLLERR))
                events |= Readable;
            if (r & (POLLOUT | POLLHUP | POLLERR))
                events |= Writable;
            if (r & (POLLHUP | POLLERR))
                events |= HangUp;
            m_events.push_back({m_entries[i].tag, events});
            if (m_entries[i].tag == kWakeTag)
                drainWakePipe();
        }
        return m_events;
    }

    void wake() override
    {
        const char one = 1;
        [[maybe_unused]] const ssize_t n = ::write(m_pipe[1], &one, 1);   // full pipe: already awake
    }

private:
    struct Entry {
        int fd;
        std::uint64_t tag;
    };

    static bool configure(int fd)
    {
        return ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0
                && ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
    }
    static short toPoll(std::uint32_t interest)
    {
        return short(((interest & Readable) ? POLLIN : 0) | ((interest & Writable) ? POLLOUT : 0));
    }
    bool add(int fd, std::uint64_t tag, short events)
    {
        if (fd < 0)
            return false;
        if (std::size_t(fd) >= m_index.size())
            m_index.resize(std::size_t(fd) + 1, -1);
        if (m_index[fd] >= 0)
            remove(fd);
        m_index[fd] = int(m_fds.size());
        m_fds.push_back({events ? fd : -1, events, 0});
        m_entries.push_back({fd, tag});
        return true;
    }
    void drainWakePipe()
    {
        char sink[64];
        while (::read(m_pipe[0], sink, sizeof sink) > 0) {
        }
    }

    int m_pipe[2] = {-1, -1};
    std::vector<pollfd> m_fds;        // what poll() sees; fd = -1 while nothing is wanted
    std::vector<Entry> m_entries;     // parallel to m_fds: the real fd and its tag
    std::vector<int> m_index;         // fd → position in m_fds (-1: not registered)
    std::vector<PollEvent> m_events;  // the last wait()'s result
};

} // namespace

std::unique_ptr<Poller> makePollPoller(QString *errorString)
{
    auto poller = std::make_unique<PollPoller>();
    if (!poller->open(errorString))
        return nullptr;
    return poller;
}

std::unique_ptr<Poller> Poller::create(QString *errorString)
{
    const QByteArray wanted = qgetenv("QWS_POLLER").trimmed().toLower();
    if (wanted == "poll")
        return makePollPoller(errorString);
#ifdef QWS_HAVE_EPOLL
    if (!wanted.isEmpty() && wanted != "epoll") {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true))
            qCWarning(lcServer) << "QWS_POLLER=" << wanted << "is neither \"epoll\" nor \"poll\": using epoll";
    }
    return makeEpollPoller(errorString);
#else
    if (!wanted.isEmpty()) {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true))
            qCWarning(lcServer) << "QWS_POLLER=" << wanted << "is not available on this platform: using poll";
    }
    return makePollPoller(errorString);
#endif
}

} // namespace qws
