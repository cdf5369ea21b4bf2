// SPDX-License-Identifier: BSD-3-Clause
// raw_echo: a minimal single-threaded epoll TCP echo (no WebSocket), the kernel floor for the benchmarks.
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include "fdlimit.h"
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

struct Peer {
    int fd = -1;
    std::vector<char> pending; // bytes the kernel did not take yet; reading pauses until they drain
    std::size_t pos = 0;
};

void closePeer(int ep, Peer *p)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, nullptr);
    ::close(p->fd);
    delete p;
}

// Writes what it can; returns false on a dead socket.
bool drain(Peer *p)
{
    while (p->pos < p->pending.size()) {
        const ssize_t n = ::send(p->fd, p->pending.data() + p->pos, p->pending.size() - p->pos, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        p->pos += std::size_t(n);
    }
    p->pending.clear();
    p->pos = 0;
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--port") && i + 1 < argc)
            port = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: raw_echo [--port P]   (prints \"LISTENING <port>\" when ready)\n");
            return 2;
        }
    }
    qws::examples::raiseFileLimit();
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });

    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(std::uint16_t(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 || ::listen(lfd, 4096) != 0) {
        std::perror("raw_echo: bind/listen");
        return 1;
    }
    socklen_t len = sizeof sa;
    getsockname(lfd, reinterpret_cast<sockaddr *>(&sa), &len);
    std::printf("LISTENING %d\n", ntohs(sa.sin_port));
    std::fflush(stdout);

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr; // the listener
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    std::vector<char> buf(256 * 1024);
    epoll_event evs[256];
    while (!g_stop) {
        const int n = epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < n; ++i) {
            if (!evs[i].data.ptr) {
                for (int k = 0; k < 256; ++k) { // bounded accept burst
                    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto *p = new Peer;
                    p->fd = fd;
                    epoll_event pev{};
                    pev.events = EPOLLIN;
                    pev.data.ptr = p;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &pev);
                }
                continue;
            }
            auto *p = static_cast<Peer *>(evs[i].data.ptr);
            if (!p->pending.empty()) { // EPOLLOUT: finish the backlog, then resume reading
                if (!drain(p)) {
                    closePeer(ep, p);
                    continue;
                }
                if (p->pending.empty()) {
                    epoll_event pev{};
                    pev.events = EPOLLIN;
                    pev.data.ptr = p;
                    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &pev);
                }
                continue;
            }
            const ssize_t r = ::recv(p->fd, buf.data(), buf.size(), 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                closePeer(ep, p);
                continue;
            }
            if (r < 0)
                continue;
            ssize_t w = ::send(p->fd, buf.data(), std::size_t(r), MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                w = 0;
            if (w < 0) {
                closePeer(ep, p);
                continue;
            }
            if (w < r) {
                p->pending.assign(buf.data() + w, buf.data() + r);
                epoll_event pev{};
                pev.events = EPOLLOUT;
                pev.data.ptr = p;
                epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &pev);
            }
        }
    }
    ::close(ep);
    ::close(lfd);
    return 0;
}
