// SPDX-License-Identifier: BSD-3-Clause
// One load-generator connection on a worker's epoll: TCP connect, optional TLS, HTTP upgrade, masked frames.
#pragma once

#include "load_util.h"

#include <openssl/ssl.h>
#include <zlib.h>

#include <memory>
#include <string>
#include <vector>

namespace qwsload {

class Conn;

/// How long a closing connection waits for the server's TCP close before closing itself (not an error).
inline constexpr std::uint64_t kCloseWaitNs = 2'000'000'000ull;

/// What a worker gives its connections: settings, shared scratch space, counters, and the callbacks.
struct ConnHost {
    virtual ~ConnHost() = default;
    virtual void onOpen(Conn &c) = 0;                      ///< handshake done, ready to send
    virtual void onEcho(Conn &c, std::uint64_t latencyNs) = 0; ///< one verified echo
    virtual void onClosed(Conn &c, bool clean) = 0;        ///< fd closed; the conn may be reused

    const Options *opts = nullptr;
    const std::string *pattern = nullptr;
    SSL_CTX *tls = nullptr;
    int epfd = -1;
    std::uint64_t now = 0;                 ///< loop time, refreshed after each epoll_wait
    Counters counters;
    std::vector<char> scratch;             ///< socket reads land here (shared, processed at once)
    std::vector<char> scratch2;            ///< inflate output / outgoing message assembly
    std::uint64_t rng = 0x2545f4914f6cdd1dull;
    std::uint32_t random32()
    {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        return std::uint32_t(rng >> 16);
    }
};

class Conn {
public:
    enum class State { Idle, Connecting, TlsHandshake, Upgrading, Open, Closing, Closed };

    explicit Conn(ConnHost &host) : m_host(host) {}
    ~Conn();
    Conn(const Conn &) = delete;
    Conn &operator=(const Conn &) = delete;

    /// Starts a non-blocking connect; false (and counted) when the socket cannot even be created.
    bool start(std::uint32_t id);
    /// Dispatches one epoll event.
    void handle(std::uint32_t events);
    /// Queues one echo request (tag + pattern), masked (or compressed) as negotiated.
    void sendMessage();
    /// Starts the closing handshake (WebSocket close frame, or shutdown in raw mode).
    void beginClose();
    /// Closes the socket now (RST), counting `timeout` when asked.
    void abort(bool timeout);
    /// Writes what it can of the queued bytes; false when the connection died doing so.
    bool flush();

    State state() const { return m_state; }
    std::uint32_t id() const { return m_id; }
    std::size_t outstanding() const { return m_sendTimes.size() - m_sendHead; }
    /// Bytes queued for the socket and not written yet.
    std::size_t unsent() const { return m_out.size() - m_outPos; }
    std::uint64_t phaseStart() const { return m_phaseStart; }
    std::uint64_t startedAt() const { return m_startedAt; }
    bool deflateOn() const { return m_deflate; }
    bool wasOpen() const { return m_wasOpen; }
    std::uint64_t echoed() const { return m_recvSeq; }
    /// Called by the worker's periodic scan: enforces the connect/handshake/echo/close time bounds.
    void checkTimers(std::uint64_t now);

private:
    void onConnected();
    void startUpgrade();
    void doTlsHandshake();
    void readable();
    void updateEvents();
    long rawRead(char *buf, std::size_t len);   ///< >0 bytes, 0 EOF, -1 would block, -2 error
    long rawWrite(const char *buf, std::size_t len);
    bool processHttp(const char *data, std::size_t len);
    bool processFrames(const char *data, std::size_t len);
    bool processRaw(const char *data, std::size_t len);
    bool sink(const char *data, std::size_t len);   ///< checks decoded message bytes against the expectation
    bool finishMessage(bool checkOpcode);
    void sendControl(std::uint8_t opcode, const char *payload, std::size_t len);
    void appendFrame(std::uint8_t opcode, bool rsv1, const char *payload, std::size_t len);
    void fail(std::uint64_t Counters::*which);
    void finish(bool clean);

    ConnHost &m_host;
    State m_state = State::Idle;
    int m_fd = -1;
    SSL *m_ssl = nullptr;
    std::uint32_t m_id = 0;
    std::uint32_t m_events = 0;
    std::uint64_t m_phaseStart = 0;
    std::uint64_t m_startedAt = 0;
    std::string m_key;                     ///< expected Sec-WebSocket-Accept
    std::string m_http;                    ///< response bytes until the blank line

    std::vector<char> m_out;
    std::size_t m_outPos = 0;

    // Incoming frame parser (server frames are never masked).
    std::uint8_t m_hdr[14] = {};
    std::size_t m_hdrLen = 0;
    std::uint64_t m_payloadLeft = 0;
    bool m_inPayload = false;
    std::uint8_t m_frameOpcode = 0;
    bool m_frameFin = false;
    std::string m_control;
    bool m_msgActive = false;
    bool m_msgCompressed = false;
    std::uint8_t m_msgOpcode = 0;
    std::uint64_t m_msgOffset = 0;
    char m_expectTag[kTagSize] = {};

    std::uint64_t m_sendSeq = 0;
    std::uint64_t m_recvSeq = 0;
    std::vector<std::uint64_t> m_sendTimes; // FIFO of send timestamps (small: <= inflight)
    std::size_t m_sendHead = 0;

    bool m_deflate = false;
    int m_clientWindowBits = 15;
    std::unique_ptr<z_stream> m_zin;
    std::unique_ptr<z_stream> m_zout;
    bool m_closeSent = false;
    bool m_closeReceived = false;
    bool m_serverNoContext = false;
    bool m_wasOpen = false;
    bool m_tlsWantWrite = false;
    std::uint64_t m_closeDeadline = 0;
};

} // namespace qwsload
