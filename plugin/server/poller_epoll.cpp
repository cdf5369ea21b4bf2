// SPDX-License-Identifier: BSD-3-Clause
// The Linux backend: epoll, edge-triggered for connections, EPOLLEXCLUSIVE on the listener, an eventfd
// for wake-ups. Compiled only where epoll exists (QWS_HAVE_EPOLL).
#include "poller_p.h"

#include "logging_p.h"

#include <cerrno>
#include <cstring>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace qws {

namespace {

constexpr int kMaxEvents = 256;

class EpollPoller final : public Poller
{
public:
    EpollPoller()
        : Poller("epoll", false)
    {
    }
    ~EpollPoller() override
    {
        if (m_wakeFd >= 0)
            ::close(m_wakeFd);
        if (m_epoll >= 0)
            ::close(m_epoll);
    }

    bool open(QString *errorString)
    {
        m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
        m_wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = kWakeTag;
        if (m_epoll < 0 || m_wakeFd < 0 || ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event) != 0) {
            if (errorString)
                *errorString = QStringLiteral("cannot create the engine's event loop (epoll): %1")
                                       .arg(QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        return true;
    }

    bool addConnection(int fd, std::uint64_t tag, std::uint32_t) override
    {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.u64 = tag;
        return ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event) == 0;
    }

    void setInterest(int, std::uint32_t) override {}   // edge-triggered: both are always armed

    bool addListener(int fd, std::uint64_t tag) override
    {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLEXCLUSIVE;   // level-triggered; one worker woken per burst
        event.data.u64 = tag;
        return ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event) == 0;
    }

    void remove(int fd) override { ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr); }
    void removeBeforeLastClose(int) override {}   // close() of the last descriptor unregisters it

    std::span<const PollEvent> wait(int timeoutMs) override
    {
        const int n = ::epoll_wait(m_epoll, m_raw, kMaxEvents, timeoutMs);
        for (int i = 0; i < n; ++i) {
            const std::uint32_t e = m_raw[i].events;
            std::uint32_t events = 0;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                events |= Readable;
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                events |= Writable;
            if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                events |= HangUp;
            m_events[i] = {m_raw[i].data.u64, events};
            if (m_raw[i].data.u64 == kWakeTag) {
                std::uint64_t value;
                [[maybe_unused]] const ssize_t r = ::read(m_wakeFd, &value, sizeof value);
            }
        }
        return {m_events, n > 0 ? std::size_t(n) : 0};
    }

    void wake() override
    {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(m_wakeFd, &one, sizeof one);
    }

private:
    int m_epoll = -1;
    int m_wakeFd = -1;
    epoll_event m_raw[kMaxEvents];
    PollEvent m_events[kMaxEvents];
};

} // namespace

std::unique_ptr<Poller> makeEpollPoller(QString *errorString)
{
    auto poller = std::make_unique<EpollPoller>();
    if (!poller->open(errorString))
        return nullptr;
    return poller;
}

} // namespace qws
