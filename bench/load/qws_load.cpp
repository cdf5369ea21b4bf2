// SPDX-License-Identifier: BSD-3-Clause
// qws_load: an epoll WebSocket (and raw TCP) echo load generator that verifies every echoed byte.
#include "fdlimit.h"
#include "load_conn.h"

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include <sys/epoll.h>
#include <sys/eventfd.h>

using namespace qwsload;

namespace {

enum Phase : int { PhaseConnect = 0, PhaseRun = 1, PhaseClose = 2 };

struct Shared {
    Options opts;
    std::string pattern;
    SSL_CTX *tls = nullptr;
    std::atomic<int> phase{PhaseConnect};
    std::atomic<int> ready{0};
    std::atomic<int> drained{0};
    std::atomic<std::int64_t> budget{INT64_MAX};
    std::atomic<std::uint64_t> deadline{UINT64_MAX};
};

class Worker final : public ConnHost {
public:
    Worker(Shared &s, int index, int conns) : m_shared(s), m_index(index), m_target(conns)
    {
        opts = &s.opts;
        pattern = &s.pattern;
        tls = s.tls;
        epfd = epoll_create1(EPOLL_CLOEXEC);
        wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr; // the phase-change wake-up
        epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, &ev);
        scratch.resize(256 * 1024);
        scratch2.resize(64 * 1024);
        rng ^= nowNs() * 0x9e3779b97f4a7c15ull + std::uint64_t(index);
    }
    ~Worker() override
    {
        ::close(wakeFd);
        ::close(epfd);
    }
    void wake()
    {
        const std::uint64_t one = 1;
        if (::write(wakeFd, &one, sizeof one) < 0) {
            // the counter cannot overflow here; nothing to do
        }
    }
    int wakeFd = -1;

    void run();

    Histogram hist;
    std::uint64_t connectNs = 0;
    std::uint64_t opened = 0;

private:
    bool storm() const { return opts->storm; }
    bool idle() const { return opts->idle > 0; }
    bool paced() const { return opts->rate > 0; }
    bool oneway() const { return opts->oneway; }
    void onOpen(Conn &c) override;
    void onEcho(Conn &c, std::uint64_t latencyNs) override;
    void onClosed(Conn &c, bool clean) override;
    void pump(int timeoutMs);
    void startMore();
    void startConn(Conn &c);
    std::uint64_t pending() const { return m_started - opened - m_failedEarly; }
    std::uint64_t live() const { return m_started - m_closed; }
    bool trySend(Conn &c);
    int sendDue();
    bool topUp();
    std::uint32_t nextId() { return (std::uint32_t(m_index) << 24) | (m_nextId++ & 0xffffff); }

    Shared &m_shared;
    int m_index;
    int m_target;
    std::vector<std::unique_ptr<Conn>> m_conns;
    std::vector<Conn *> m_free;          // storm: slots to restart
    std::uint64_t m_started = 0;
    std::uint64_t m_closed = 0;
    std::uint64_t m_failedEarly = 0;     // closed before the handshake completed
    std::uint64_t m_outstanding = 0;
    std::uint32_t m_nextId = 0;
    bool m_sending = false;
    std::uint64_t m_lastScan = 0;
    std::uint64_t m_runStart = 0;        ///< paced: the schedule's origin
    std::uint64_t m_paced = 0;           ///< paced: messages sent so far on the schedule
    std::size_t m_rr = 0;                ///< paced: round-robin position over m_conns
    std::vector<Conn *> m_touched;       ///< paced: connections written to in this round
};

void Worker::onOpen(Conn &c)
{
    ++opened;
    if (storm() && !trySend(c))
        c.beginClose(); // opened after the deadline: close without counting a cycle
}

bool Worker::trySend(Conn &c)
{
    if (!m_sending || c.state() != Conn::State::Open)
        return false;
    if (opts->messages && m_shared.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
        m_sending = false;
        return false;
    }
    c.sendMessage();
    if (!oneway())
        ++m_outstanding;
    return true;
}

// Open-loop pacing: message k of this worker is due at start + k / (rate x connections), sent round-robin,
// so each connection sends exactly --rate per second whatever the server does (a late client catches up).
// Returns the milliseconds until the next message is due.
int Worker::sendDue()
{
    const double perSecond = opts->rate * double(std::max<std::size_t>(1, m_conns.size()));
    const std::uint64_t due = std::uint64_t(double(now - m_runStart) * perSecond / 1e9);
    m_touched.clear();
    for (std::size_t tries = 0; m_paced < due && m_sending && tries < m_conns.size() * 4 + 1024; ++tries) {
        Conn &c = *m_conns[m_rr++ % m_conns.size()];
        if (c.state() != Conn::State::Open)
            continue; // a dead connection's share is not redistributed (it counted as an error)
        if (!trySend(c))
            break;
        ++m_paced;
        if (c.unsent() > 0 && (m_touched.empty() || m_touched.back() != &c))
            m_touched.push_back(&c);
    }
    for (Conn *c : m_touched)
        if (c->state() == Conn::State::Open)
            c->flush();
    const double nextNs = double(m_paced + 1) * 1e9 / perSecond;
    const double wait = nextNs - double(now - m_runStart);
    return wait <= 0 ? 0 : int(std::min(50.0, wait / 1e6 + 1));
}

// One-way at full speed: keep up to 16 KiB queued per connection; the server's TCP window paces us.
// True when some socket took everything (so the caller polls again at once instead of sleeping).
bool Worker::topUp()
{
    const std::size_t low = 16 * 1024;
    bool hungry = false;
    for (auto &c : m_conns) {
        if (c->state() != Conn::State::Open || c->unsent() >= low)
            continue;
        while (m_sending && c->unsent() < low && trySend(*c)) {
        }
        if (c->state() == Conn::State::Open && c->flush() && c->state() == Conn::State::Open && c->unsent() == 0)
            hungry = true;
    }
    return hungry;
}

void Worker::onEcho(Conn &c, std::uint64_t latencyNs)
{
    --m_outstanding;
    if (storm()) {
        c.beginClose();
        return;
    }
    hist.add(latencyNs);
    if (!idle() && !paced())
        trySend(c);
}

void Worker::onClosed(Conn &c, bool clean)
{
    m_outstanding -= c.outstanding();
    ++m_closed;
    if (!c.wasOpen())
        ++m_failedEarly;
    if (storm()) {
        if (clean && c.echoed() > 0) {
            ++counters.cycles;
            hist.add(now > c.startedAt() ? now - c.startedAt() : 0);
        }
        m_free.push_back(&c);
    }
}

void Worker::pump(int timeoutMs)
{
    epoll_event evs[256];
    const int n = epoll_wait(epfd, evs, 256, timeoutMs);
    now = nowNs();
    for (int i = 0; i < n; ++i) {
        if (!evs[i].data.ptr) {
            std::uint64_t v;
            if (::read(wakeFd, &v, sizeof v) < 0) {
                // already drained
            }
            continue;
        }
        static_cast<Conn *>(evs[i].data.ptr)->handle(evs[i].events);
    }
    if (now - m_lastScan > 100'000'000ull) {
        m_lastScan = now;
        for (auto &c : m_conns)
            c->checkTimers(now);
    }
}

void Worker::startConn(Conn &c)
{
    ++m_started;
    c.start(nextId());
}

void Worker::startMore()
{
    // Bounded ramp: at most --ramp connects/handshakes in progress (servers refuse beyond ~30 pending,
    // QWebSocketServer's and our default maxPendingConnections).
    const std::uint64_t ramp = std::uint64_t(std::max(1, opts->ramp / opts->threads));
    while (int(m_conns.size()) < m_target && pending() < ramp) {
        m_conns.push_back(std::make_unique<Conn>(*this));
        startConn(*m_conns.back());
    }
}

void Worker::run()
{
    const std::uint64_t t0 = nowNs();
    // Phase 1: open the connections (storm opens them during the run instead).
    if (!storm()) {
        while (int(m_conns.size()) < m_target || pending() > 0) {
            startMore();
            pump(5);
            if (nowNs() - t0 > std::uint64_t((opts->timeout + double(m_target) / 200.0) * 1e9))
                break;
        }
    }
    connectNs = nowNs() - t0;
    m_shared.ready.fetch_add(1);
    m_shared.ready.notify_all();
    while (m_shared.phase.load() == PhaseConnect)
        pump(20);

    // Phase 2: the measured run.
    m_sending = true;
    if (storm()) {
        m_target = std::max(1, m_target);
        for (int i = 0; i < m_target; ++i)
            m_conns.push_back(std::make_unique<Conn>(*this));
        for (auto &c : m_conns)
            m_free.push_back(c.get());
    } else if (paced() || oneway()) {
        m_runStart = nowNs(); // the first messages go out in the loop below
    } else {
        const int perConn = idle() ? 1 : opts->inflight;
        for (auto &c : m_conns) {
            for (int k = 0; k < perConn; ++k)
                trySend(*c);
            if (c->state() == Conn::State::Open)
                c->flush();
        }
        if (idle())
            m_sending = false;
    }
    std::uint64_t stopAt = 0;
    while (true) {
        if (storm() && m_sending) {
            std::vector<Conn *> slots;
            slots.swap(m_free); // a failing start re-queues its slot for the next round, not this one
            for (Conn *c : slots)
                startConn(*c);
        }
        // Sleep in epoll until the next event or the deadline (no busy polling: its CPU would count as ours).
        const std::uint64_t dl = m_shared.deadline.load(std::memory_order_relaxed);
        const std::uint64_t t = nowNs();
        int timeoutMs = m_sending && dl > t ? int(std::min<std::uint64_t>(50, (dl - t) / 1000000 + 1)) : 50;
        if (m_sending && paced()) {
            now = t;
            timeoutMs = std::min(timeoutMs, sendDue());
        } else if (m_sending && oneway() && topUp()) {
            timeoutMs = 0;
        }
        pump(timeoutMs);
        if (m_sending && (now >= m_shared.deadline.load(std::memory_order_relaxed) ||
                          (opts->messages && m_shared.budget.load(std::memory_order_relaxed) <= 0)))
            m_sending = false;
        if (!m_sending && !stopAt)
            stopAt = now;
        const bool done = storm() ? (live() == 0) : (m_outstanding == 0);
        if (!m_sending && done)
            break;
        if (stopAt && now - stopAt > std::uint64_t(opts->timeout * 1e9)) {
            for (auto &c : m_conns)
                if (c->state() != Conn::State::Closed && c->state() != Conn::State::Idle &&
                    (storm() || c->outstanding() > 0))
                    c->abort(true);
            break;
        }
    }
    m_shared.drained.fetch_add(1);
    m_shared.drained.notify_all();
    while (m_shared.phase.load() == PhaseRun)
        pump(20);

    // Phase 3: close everything (closing handshake, bounded wait for the server's TCP close).
    for (auto &c : m_conns)
        if (c->state() == Conn::State::Open)
            c->beginClose();
    const std::uint64_t closeStart = nowNs();
    // One-way: the server may still be consuming what we queued; each connection's own close deadline bounds it.
    const std::uint64_t closeWait = oneway() ? std::uint64_t((opts->timeout + 5) * 1e9) : 5'000'000'000ull;
    while (true) {
        bool any = false;
        for (auto &c : m_conns)
            any = any || (c->state() != Conn::State::Closed && c->state() != Conn::State::Idle);
        if (!any || nowNs() - closeStart > closeWait)
            break;
        pump(10);
        m_lastScan = 0;
    }
    for (auto &c : m_conns)
        if (c->state() != Conn::State::Closed && c->state() != Conn::State::Idle)
            c->abort(false);
}

[[noreturn]] void usage(int code)
{
    std::fprintf(code ? stderr : stdout,
                 "usage: qws_load --port P [--host 127.0.0.1] [--path /] [--conns N] [--inflight K]\n"
                 "  [--size BYTES] [--text|--binary|--json] [--duration S | --messages M] [--threads N]\n"
                 "  [--pingpong] [--storm [--parallel P]] [--idle N [--hold S]] [--ramp N] [--deflate] [--tls] [--raw]\n"
                 "  [--oneway] [--rate MSGS_PER_S_PER_CONN] [--server-pid PID] [--timeout S] [--label NAME]\n"
                 "--oneway sends without expecting echoes (as fast as the server's TCP window allows, or at\n"
                 "--rate); --rate paces each connection open-loop (echoes still verified unless --oneway).\n"
                 "Prints one JSON line. Exit status 1 on any connect, handshake, protocol or verification error.\n");
    std::exit(code);
}

Options parseArgs(int argc, char **argv)
{
    Options o;
    bool durationGiven = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char * {
            if (i + 1 >= argc)
                usage(2);
            return argv[++i];
        };
        if (a == "--port") o.port = std::atoi(next());
        else if (a == "--host") o.host = next();
        else if (a == "--path") o.path = next();
        else if (a == "--conns") o.conns = std::atoi(next());
        else if (a == "--inflight") o.inflight = std::atoi(next());
        else if (a == "--size") o.size = std::size_t(std::atoll(next()));
        else if (a == "--text") o.text = true;
        else if (a == "--binary") o.text = false;
        else if (a == "--json") { o.text = true; o.json = true; }
        else if (a == "--duration") { o.duration = std::atof(next()); durationGiven = true; }
        else if (a == "--messages") o.messages = std::uint64_t(std::atoll(next()));
        else if (a == "--threads") o.threads = std::atoi(next());
        else if (a == "--pingpong") { o.conns = 1; o.inflight = 1; }
        else if (a == "--storm") o.storm = true;
        else if (a == "--parallel") o.parallel = std::atoi(next());
        else if (a == "--ramp") o.ramp = std::max(1, std::atoi(next()));
        else if (a == "--idle") o.idle = std::atoi(next());
        else if (a == "--hold") o.hold = std::atof(next());
        else if (a == "--deflate") o.deflate = true;
        else if (a == "--tls") o.tls = true;
        else if (a == "--raw") o.raw = true;
        else if (a == "--oneway") o.oneway = true;
        else if (a == "--rate") o.rate = std::atof(next());
        else if (a == "--server-pid") o.serverPid = std::atoi(next());
        else if (a == "--timeout") o.timeout = std::atof(next());
        else if (a == "--label") o.label = next();
        else if (a == "--help" || a == "-h") usage(0);
        else { std::fprintf(stderr, "qws_load: unknown argument %s\n", a.c_str()); usage(2); }
    }
    if (o.port <= 0 || o.port > 65535 || o.host.rfind("127.", 0) != 0) {
        std::fprintf(stderr, "qws_load: need --port, and a loopback --host (127.x.x.x)\n");
        usage(2);
    }
    if (o.messages && !durationGiven)
        o.duration = 300; // a time bound even when counting messages
    o.threads = std::clamp(o.threads, 1, 64);
    o.conns = std::max(1, o.conns);
    o.inflight = std::clamp(o.inflight, 1, 4096);
    o.parallel = std::max(1, o.parallel);
    o.size = std::max<std::size_t>(1, o.size);
    if ((o.oneway || o.rate > 0) && (o.storm || o.idle > 0 || o.raw)) {
        std::fprintf(stderr, "qws_load: --oneway and --rate go with the echo workload only (not storm, idle, raw)\n");
        usage(2);
    }
    if (o.rate < 0 || !std::isfinite(o.rate)) {
        std::fprintf(stderr, "qws_load: --rate must be a positive number of messages per second per connection\n");
        usage(2);
    }
    if (o.raw && (o.deflate || o.tls)) {
        std::fprintf(stderr, "qws_load: --raw excludes --deflate and --tls\n");
        usage(2);
    }
    return o;
}

using qws::examples::raiseFileLimit;

} // namespace

int main(int argc, char **argv)
{
    Shared shared;
    shared.opts = parseArgs(argc, argv);
    const Options &o = shared.opts;
    const std::uint64_t nofile = raiseFileLimit();
    shared.pattern = makePattern(o);
    if (o.tls) {
        shared.tls = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(shared.tls, SSL_VERIFY_NONE, nullptr);
        SSL_CTX_set_session_cache_mode(shared.tls, SSL_SESS_CACHE_OFF); // every handshake a full one
        SSL_CTX_set_options(shared.tls, SSL_OP_IGNORE_UNEXPECTED_EOF); // a TCP close after the WS close is fine
        SSL_CTX_set_mode(shared.tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    if (o.messages)
        shared.budget = std::int64_t(o.messages);

    const int total = o.storm ? o.parallel : (o.idle > 0 ? o.idle : o.conns);
    const int threads = std::min(o.threads, total);
    const long rssBase = procRssKb(o.serverPid);
    std::vector<std::unique_ptr<Worker>> workers;
    for (int t = 0; t < threads; ++t)
        workers.push_back(std::make_unique<Worker>(shared, t, total / threads + (t < total % threads ? 1 : 0)));
    std::vector<std::thread> pool;
    const std::uint64_t tConnect = nowNs();
    for (auto &w : workers)
        pool.emplace_back([&w] { w->run(); });
    for (int v = shared.ready.load(); v < threads; v = shared.ready.load())
        shared.ready.wait(v); // futex wait: the coordinating thread costs no CPU during the run
    const double connectS = double(nowNs() - tConnect) / 1e9;
    const long rssOpen = procRssKb(o.serverPid);
    long rssHold = rssOpen;
    if (o.idle > 0 && o.hold > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::int64_t(o.hold * 1000)));
        rssHold = procRssKb(o.serverPid);
    }
    const double srv0 = procCpuSeconds(o.serverPid);
    const double cli0 = selfCpuSeconds();
    const std::uint64_t t0 = nowNs();
    shared.deadline = o.idle > 0 ? UINT64_MAX : t0 + std::uint64_t(o.duration * 1e9);
    shared.phase = PhaseRun;
    for (auto &w : workers)
        w->wake();
    for (int v = shared.drained.load(); v < threads; v = shared.drained.load())
        shared.drained.wait(v);
    const std::uint64_t t1 = nowNs();
    const double srv1 = procCpuSeconds(o.serverPid);
    const double cli1 = selfCpuSeconds();
    const long rssEnd = procRssKb(o.serverPid);
    shared.phase = PhaseClose;
    for (auto &w : workers)
        w->wake();
    for (auto &t : pool)
        t.join();

    Counters c;
    Histogram h;
    std::uint64_t opened = 0;
    for (auto &w : workers) {
        c.merge(w->counters);
        h.merge(w->hist);
        opened += w->opened;
    }
    const double dur = double(t1 - t0) / 1e9;
    const double srvCpu = (srv0 >= 0 && srv1 >= 0) ? srv1 - srv0 : -1;
    const double cliCpu = cli1 - cli0;
    const double units = double(o.storm ? c.cycles : o.oneway ? c.sent : c.messages);
    const std::uint64_t expectOpen = std::uint64_t(total);
    const bool failed = c.errors() > 0 || units == 0 || (!o.storm && opened < expectOpen);
    const long connsOpen = o.storm ? 0 : long(opened);
    const double perConn = (o.idle > 0 && rssBase >= 0 && opened) ? double(rssHold - rssBase) * 1024.0 / double(opened) : -1;

    std::printf("{\"label\":\"%s\",\"mode\":\"%s\",\"workload\":\"%s\",\"tls\":%s,\"deflate_offered\":%s,"
                "\"deflate_negotiated\":%llu,\"conns\":%d,\"inflight\":%d,\"size\":%zu,\"opcode\":\"%s\","
                "\"threads\":%d,\"nofile_limit\":%llu,\"oneway\":%s,\"rate_per_conn\":%.3f,\"sent_per_s\":%.1f,",
                o.label.c_str(), o.raw ? "raw" : "ws",
                o.storm ? "storm" : o.idle > 0 ? "idle" : o.oneway ? "oneway" : "echo",
                o.tls ? "true" : "false", o.deflate ? "true" : "false", (unsigned long long)c.deflateNegotiated,
                total, o.inflight, o.size, o.text ? "text" : "binary", threads, (unsigned long long)nofile,
                o.oneway ? "true" : "false", o.rate, double(c.sent) / (double(t1 - t0) / 1e9));
    std::printf("\"messages\":%llu,\"bytes\":%llu,\"sent\":%llu,\"handshakes\":%llu,\"cycles\":%llu,"
                "\"conns_open\":%ld,\"errors\":%llu,\"connect_errors\":%llu,\"handshake_errors\":%llu,"
                "\"verify_errors\":%llu,\"protocol_errors\":%llu,\"unexpected_closes\":%llu,\"timeouts\":%llu,",
                (unsigned long long)c.messages, (unsigned long long)c.bytes, (unsigned long long)c.sent,
                (unsigned long long)c.handshakes, (unsigned long long)c.cycles, connsOpen,
                (unsigned long long)c.errors(), (unsigned long long)c.connectErrors,
                (unsigned long long)c.handshakeErrors, (unsigned long long)c.verifyErrors,
                (unsigned long long)c.protocolErrors, (unsigned long long)c.unexpectedCloses,
                (unsigned long long)c.timeouts);
    std::printf("\"duration_s\":%.4f,\"connect_s\":%.4f,\"msgs_per_s\":%.1f,\"cycles_per_s\":%.1f,\"mb_per_s\":%.2f,"
                "\"wire_bytes_out\":%llu,\"wire_bytes_in\":%llu,",
                dur, connectS, double(c.messages) / dur, double(c.cycles) / dur, double(c.bytes) / dur / 1e6,
                (unsigned long long)c.wireBytesOut, (unsigned long long)c.wireBytesIn);
    std::printf("\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"latency_samples\":%llu,",
                double(h.quantile(0.50)) / 1e3, double(h.quantile(0.90)) / 1e3, double(h.quantile(0.99)) / 1e3,
                double(h.max()) / 1e3, (unsigned long long)h.count());
    std::printf("\"client_cpu_s\":%.4f,\"client_cpu_pct\":%.1f,\"server_pid\":%d,\"server_cpu_s\":%.4f,"
                "\"server_cpu_pct\":%.1f,\"units_per_server_cpu_s\":%.1f,\"client_to_server_cpu\":%.3f,",
                cliCpu, 100.0 * cliCpu / dur, o.serverPid, srvCpu, srvCpu >= 0 ? 100.0 * srvCpu / dur : -1.0,
                srvCpu > 0 ? units / srvCpu : -1.0, srvCpu > 0 ? cliCpu / srvCpu : -1.0);
    std::printf("\"server_rss_base_kb\":%ld,\"server_rss_open_kb\":%ld,\"server_rss_hold_kb\":%ld,"
                "\"server_rss_end_kb\":%ld,\"rss_per_conn_bytes\":%.1f,\"ok\":%s}\n",
                rssBase, rssOpen, rssHold, rssEnd, perConn, failed ? "false" : "true");
    std::fflush(stdout);
    if (shared.tls)
        SSL_CTX_free(shared.tls);
    return failed ? 1 : 0;
}
