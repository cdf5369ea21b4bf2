// SPDX-License-Identifier: BSD-3-Clause
// qws_load shared pieces: options, latency histogram, counters, clocks, /proc readers, payload pattern.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

namespace qwsload {

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path = "/";
    int conns = 1;
    int inflight = 1;
    std::size_t size = 64;
    bool text = true;
    bool json = false;          ///< JSON-like text payload (compressible)
    double duration = 5.0;
    std::uint64_t messages = 0; ///< 0: run for `duration`
    bool storm = false;
    int parallel = 50;
    int ramp = 16;              ///< connects/handshakes in progress at once while opening (servers cap ~30)
    int idle = 0;               ///< > 0: idle workload with this many connections
    double hold = 30.0;
    bool deflate = false;
    bool tls = false;
    bool raw = false;           ///< plain TCP echo, no WebSocket
    bool oneway = false;        ///< send only: the server is expected to consume, not echo (QML handler probe)
    double rate = 0;            ///< > 0: open-loop pacing, this many messages/s per connection (echo or oneway)
    int threads = 1;
    int serverPid = 0;
    double timeout = 30.0;      ///< bound on every wait (connect, handshake, drain)
    std::string label;
};

inline std::uint64_t nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

inline double selfCpuSeconds()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// /proc/<pid>/<file> opened for reading; nullptr for no pid or when unreadable.
inline FILE *openProcFile(int pid, const char *file)
{
    if (pid <= 0)
        return nullptr;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    return std::fopen(path, "r");
}

/// utime+stime of a process (all threads) from /proc/<pid>/stat, in seconds; -1 when unreadable.
inline double procCpuSeconds(int pid)
{
    FILE *f = openProcFile(pid, "stat");
    if (!f)
        return -1;
    char buf[2048];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    const char *p = std::strrchr(buf, ')'); // comm may contain spaces
    if (!p)
        return -1;
    // After ')': field 3 (state) ... utime is field 14, stime 15.
    unsigned long long v[13] = {};
    char state = 0;
    if (std::sscanf(p + 2, "%c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &state, &v[0], &v[1],
                    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) != 13)
        return -1;
    return double(v[10] + v[11]) / double(sysconf(_SC_CLK_TCK));
}

/// VmRSS of a process in KiB; -1 when unreadable.
inline long procRssKb(int pid)
{
    FILE *f = openProcFile(pid, "status");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    std::fclose(f);
    return kb;
}

/// Log-linear latency histogram in nanoseconds: 32 sub-buckets per power of two (~3 % resolution).
class Histogram {
public:
    static constexpr int kSub = 32;
    void add(std::uint64_t ns)
    {
        ++m_count;
        m_max = std::max(m_max, ns);
        ++m_buckets[index(ns)];
    }
    void merge(const Histogram &o)
    {
        for (std::size_t i = 0; i < m_buckets.size(); ++i)
            m_buckets[i] += o.m_buckets[i];
        m_count += o.m_count;
        m_max = std::max(m_max, o.m_max);
    }
    std::uint64_t count() const { return m_count; }
    std::uint64_t max() const { return m_max; }
    /// Upper edge of the bucket holding quantile q (0..1); 0 when empty.
    std::uint64_t quantile(double q) const
    {
        if (!m_count)
            return 0;
        const std::uint64_t rank = std::max<std::uint64_t>(1, std::uint64_t(q * double(m_count) + 0.5));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < m_buckets.size(); ++i) {
            seen += m_buckets[i];
            if (seen >= rank)
                return std::min(upper(i), m_max);
        }
        return m_max;
    }

private:
    static std::size_t index(std::uint64_t v)
    {
        if (v < kSub)
            return std::size_t(v);
        const int msb = 63 - __builtin_clzll(v);      // >= 5
        const int shift = msb - 5;                     // keep 6 significant bits: 32..63
        return std::size_t((shift + 1) * kSub + int((v >> shift) - kSub));
    }
    static std::uint64_t upper(std::size_t i)
    {
        if (i < std::size_t(kSub))
            return i;
        const std::size_t shift = i / kSub - 1;
        const std::uint64_t mant = kSub + i % kSub;
        return ((mant + 1) << shift) - 1;
    }
    std::array<std::uint64_t, 64 * kSub> m_buckets{};
    std::uint64_t m_count = 0;
    std::uint64_t m_max = 0;
};

struct Counters {
    std::uint64_t messages = 0;       ///< verified echoes
    std::uint64_t bytes = 0;          ///< verified echoed payload bytes
    std::uint64_t sent = 0;           ///< messages sent
    std::uint64_t handshakes = 0;     ///< completed WebSocket upgrades (or TCP connects in raw mode)
    std::uint64_t cycles = 0;         ///< storm: connect + handshake + echo + close completed
    std::uint64_t connectErrors = 0;
    std::uint64_t handshakeErrors = 0;
    std::uint64_t verifyErrors = 0;
    std::uint64_t protocolErrors = 0;
    std::uint64_t unexpectedCloses = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t deflateNegotiated = 0;
    std::uint64_t wireBytesOut = 0;
    std::uint64_t wireBytesIn = 0;
    std::uint64_t errors() const
    {
        return connectErrors + handshakeErrors + verifyErrors + protocolErrors + unexpectedCloses + timeouts;
    }
    void merge(const Counters &o)
    {
        messages += o.messages; bytes += o.bytes; sent += o.sent; handshakes += o.handshakes;
        cycles += o.cycles; connectErrors += o.connectErrors; handshakeErrors += o.handshakeErrors;
        verifyErrors += o.verifyErrors; protocolErrors += o.protocolErrors;
        unexpectedCloses += o.unexpectedCloses; timeouts += o.timeouts;
        deflateNegotiated += o.deflateNegotiated; wireBytesOut += o.wireBytesOut; wireBytesIn += o.wireBytesIn;
    }
};

/// Every message starts with a 24-byte tag: 8 hex digits of connection id, 16 of sequence number.
/// The rest is a fixed per-run pattern, so the echo is checked byte for byte with one memcmp.
inline constexpr std::size_t kTagSize = 24;

inline void writeTag(char *out, std::uint32_t conn, std::uint64_t seq)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i, conn >>= 4)
        out[i] = hex[conn & 15];
    for (int i = 23; i >= 8; --i, seq >>= 4)
        out[i] = hex[seq & 15];
}

/// The pattern after the tag: printable text, JSON-like text, or pseudo-random bytes for binary.
inline std::string makePattern(const Options &o)
{
    std::string s(o.size, '\0');
    if (o.json) {
        std::string j;
        for (std::uint32_t i = 0; j.size() < o.size; ++i) {
            char item[160];
            std::snprintf(item, sizeof item,
                          "%s{\"id\":%u,\"sensor\":\"probe-%u\",\"value\":%u.%u,\"unit\":\"kPa\",\"ok\":%s}",
                          i ? "," : "[", i, i % 17, (i * 37) % 1000, i % 10, (i % 3) ? "true" : "false");
            j += item;
        }
        std::memcpy(s.data(), j.data(), o.size);
    } else if (o.text) {
        for (std::size_t i = 0; i < o.size; ++i)
            s[i] = char('a' + (i * 7 + i / 26) % 26);
    } else {
        std::uint64_t x = 0x9e3779b97f4a7c15ull;
        for (std::size_t i = 0; i < o.size; ++i) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            s[i] = char(x >> 24);
        }
    }
    return s;
}

} // namespace qwsload
