// SPDX-License-Identifier: BSD-3-Clause
// One load-generator connection: non-blocking connect, TLS, HTTP upgrade, reads/writes, time bounds.
#include "load_conn.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

namespace qwsload {

namespace {
std::string base64(const unsigned char *data, int len)
{
    std::string out(std::size_t(4 * ((len + 2) / 3)), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), data, len);
    out.resize(std::size_t(n));
    return out;
}

// Our own accept-key computation (not the engine's), so the client checks the server independently.
std::string acceptFor(const std::string &key)
{
    const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    EVP_Digest(in.data(), in.size(), md, &mdLen, EVP_sha1(), nullptr);
    return base64(md, int(mdLen));
}

std::string lower(std::string s)
{
    for (char &c : s)
        c = char(tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string &s)
{
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
} // namespace

Conn::~Conn()
{
    if (m_ssl)
        SSL_free(m_ssl);
    if (m_fd >= 0)
        ::close(m_fd);
    if (m_zin)
        inflateEnd(m_zin.get());
    if (m_zout)
        deflateEnd(m_zout.get());
}

bool Conn::start(std::uint32_t id)
{
    m_id = id;
    m_events = 0;
    m_out.clear();
    m_outPos = 0;
    m_http.clear();
    m_hdrLen = 0;
    m_inPayload = m_msgActive = m_closeSent = m_closeReceived = m_tlsWantWrite = false;
    m_msgOffset = m_sendSeq = m_recvSeq = 0;
    m_sendTimes.clear();
    m_sendHead = 0;
    m_deflate = m_serverNoContext = m_wasOpen = false;
    m_clientWindowBits = 15;
    m_startedAt = m_phaseStart = nowNs();

    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_fd < 0) {
        m_state = State::Connecting;
        fail(&Counters::connectErrors);
        return false;
    }
    const int one = 1;
    setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(std::uint16_t(m_host.opts->port));
    inet_pton(AF_INET, m_host.opts->host.c_str(), &sa.sin_addr);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.ptr = this;
    m_events = EPOLLOUT;
    epoll_ctl(m_host.epfd, EPOLL_CTL_ADD, m_fd, &ev);
    m_state = State::Connecting;
    if (::connect(m_fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0) {
        onConnected();
    } else if (errno != EINPROGRESS) {
        fail(&Counters::connectErrors);
        return false;
    }
    return true;
}

void Conn::handle(std::uint32_t events)
{
    switch (m_state) {
    case State::Connecting: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0)
            return fail(&Counters::connectErrors);
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            onConnected();
        break;
    }
    case State::TlsHandshake:
        doTlsHandshake();
        break;
    case State::Upgrading:
    case State::Open:
    case State::Closing:
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            readable();
        break;
    case State::Idle:
    case State::Closed:
        return;
    }
    if (m_state != State::Closed && m_state != State::Connecting && m_state != State::TlsHandshake)
        flush();
}

void Conn::onConnected()
{
    m_phaseStart = nowNs();
    if (m_host.opts->tls) {
        m_ssl = SSL_new(m_host.tls);
        SSL_set_fd(m_ssl, m_fd);
        SSL_set_connect_state(m_ssl);
        m_state = State::TlsHandshake;
        doTlsHandshake();
        return;
    }
    startUpgrade();
}

void Conn::doTlsHandshake()
{
    const int r = SSL_connect(m_ssl);
    if (r == 1) {
        m_tlsWantWrite = false;
        startUpgrade();
        if (m_state != State::Closed)
            flush();
        return;
    }
    const int err = SSL_get_error(m_ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        m_tlsWantWrite = err == SSL_ERROR_WANT_WRITE;
        updateEvents();
        return;
    }
    ERR_clear_error();
    fail(&Counters::handshakeErrors);
}

void Conn::startUpgrade()
{
    if (m_host.opts->raw) {
        m_state = State::Open;
        m_wasOpen = true;
        ++m_host.counters.handshakes;
        m_host.onOpen(*this);
        return;
    }
    unsigned char nonce[16];
    for (int i = 0; i < 16; i += 4) {
        const std::uint32_t r = m_host.random32();
        std::memcpy(nonce + i, &r, 4);
    }
    const std::string key = base64(nonce, 16);
    m_key = acceptFor(key);
    std::string req = "GET " + m_host.opts->path + " HTTP/1.1\r\nHost: " + m_host.opts->host + ":" +
                      std::to_string(m_host.opts->port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: " + key + "\r\n";
    if (m_host.opts->deflate)
        req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
               "server_no_context_takeover\r\n";
    req += "\r\n";
    m_out.insert(m_out.end(), req.begin(), req.end());
    m_state = State::Upgrading;
    m_phaseStart = nowNs();
}

long Conn::rawRead(char *buf, std::size_t len)
{
    if (m_ssl) {
        const int r = SSL_read(m_ssl, buf, int(len));
        if (r > 0)
            return r;
        const int err = SSL_get_error(m_ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return -1;
        ERR_clear_error();
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
            return 0;
        return -2;
    }
    const ssize_t r = ::recv(m_fd, buf, len, 0);
    if (r >= 0)
        return long(r);
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

long Conn::rawWrite(const char *buf, std::size_t len)
{
    if (m_ssl) {
        const int r = SSL_write(m_ssl, buf, int(std::min<std::size_t>(len, 1 << 30)));
        if (r > 0)
            return r;
        const int err = SSL_get_error(m_ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            return -1;
        ERR_clear_error();
        return -2;
    }
    const ssize_t r = ::send(m_fd, buf, len, MSG_NOSIGNAL);
    if (r >= 0)
        return long(r);
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

void Conn::readable()
{
    // Level-triggered: a bounded number of reads per event is enough for plain sockets; TLS may hold
    // decrypted bytes that epoll cannot see, so read TLS until it would block.
    const int maxReads = m_ssl ? 1 << 20 : 8;
    for (int i = 0; i < maxReads; ++i) {
        const long n = rawRead(m_host.scratch.data(), m_host.scratch.size());
        if (n == -1)
            return;
        if (n == -2)
            return fail(&Counters::unexpectedCloses);
        if (n == 0) {
            if (m_state == State::Closing && (m_host.opts->raw || m_closeReceived))
                return finish(true);
            return fail(&Counters::unexpectedCloses);
        }
        m_host.now = nowNs();
        m_host.counters.wireBytesIn += std::uint64_t(n);
        const char *d = m_host.scratch.data();
        bool alive;
        if (m_state == State::Upgrading)
            alive = processHttp(d, std::size_t(n));
        else if (m_host.opts->raw)
            alive = processRaw(d, std::size_t(n));
        else
            alive = processFrames(d, std::size_t(n));
        if (!alive || m_state == State::Closed)
            return;
        if (!m_ssl && std::size_t(n) < m_host.scratch.size())
            return; // a short read drained the socket: skip the EAGAIN read (level-triggered epoll)
    }
}

bool Conn::flush()
{
    while (m_outPos < m_out.size()) {
        const long n = rawWrite(m_out.data() + m_outPos, m_out.size() - m_outPos);
        if (n == -1)
            break;
        if (n == -2) {
            fail(&Counters::unexpectedCloses);
            return false;
        }
        m_outPos += std::size_t(n);
        m_host.counters.wireBytesOut += std::uint64_t(n);
    }
    if (m_outPos == m_out.size()) {
        m_out.clear();
        m_outPos = 0;
        if (m_out.capacity() > (4u << 20) && m_host.opts->size < (1u << 20))
            std::vector<char>().swap(m_out);
        if (m_state == State::Closing && m_host.opts->raw)
            ::shutdown(m_fd, SHUT_WR);
    }
    updateEvents();
    return true;
}

void Conn::updateEvents()
{
    std::uint32_t want = EPOLLIN;
    if (m_state == State::Connecting || m_outPos < m_out.size() || m_tlsWantWrite)
        want |= EPOLLOUT;
    if (want == m_events)
        return;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = this;
    epoll_ctl(m_host.epfd, EPOLL_CTL_MOD, m_fd, &ev);
    m_events = want;
}

bool Conn::processHttp(const char *data, std::size_t len)
{
    const std::size_t before = m_http.size();
    m_http.append(data, len);
    const std::size_t end = m_http.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (m_http.size() > 16384) {
            fail(&Counters::handshakeErrors);
            return false;
        }
        return true;
    }
    const std::size_t consumed = end + 4 - before;
    bool ok = m_http.compare(0, 13, "HTTP/1.1 101 ") == 0;
    bool upgrade = false, connection = false, accept = false;
    std::size_t pos = m_http.find("\r\n") + 2;
    while (ok && pos < end) {
        const std::size_t eol = m_http.find("\r\n", pos);
        const std::string line = m_http.substr(pos, eol - pos);
        pos = eol + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string value = trim(line.substr(colon + 1));
        if (name == "upgrade")
            upgrade = lower(value) == "websocket";
        else if (name == "connection")
            connection = lower(value).find("upgrade") != std::string::npos;
        else if (name == "sec-websocket-accept")
            accept = value == m_key;
        else if (name == "sec-websocket-extensions") {
            const std::string v = lower(value);
            if (!m_host.opts->deflate || v.rfind("permessage-deflate", 0) != 0) {
                ok = false;
                break;
            }
            m_deflate = true;
            m_serverNoContext = v.find("server_no_context_takeover") != std::string::npos;
            const std::size_t w = v.find("client_max_window_bits=");
            if (w != std::string::npos)
                m_clientWindowBits = std::clamp(std::atoi(v.c_str() + w + 23), 9, 15);
        }
    }
    if (!ok || !upgrade || !connection || !accept) {
        if (std::getenv("QWS_LOAD_DEBUG"))
            std::fprintf(stderr, "qws_load: handshake refused: %s\n", m_http.substr(0, m_http.find('\r')).c_str());
        fail(&Counters::handshakeErrors);
        return false;
    }
    if (m_deflate) {
        ++m_host.counters.deflateNegotiated;
        if (!m_zin) {
            m_zin = std::make_unique<z_stream>();
            inflateInit2(m_zin.get(), -15);
        }
        if (m_zout)
            deflateEnd(m_zout.get());
        m_zout = std::make_unique<z_stream>();
        deflateInit2(m_zout.get(), 1, Z_DEFLATED, -m_clientWindowBits, 8, Z_DEFAULT_STRATEGY);
        inflateReset(m_zin.get());
    }
    m_http.clear();
    m_state = State::Open;
    m_wasOpen = true;
    m_phaseStart = nowNs();
    ++m_host.counters.handshakes;
    m_host.onOpen(*this);
    if (m_state == State::Closed)
        return false;
    if (consumed < len)
        return processFrames(data + consumed, len - consumed);
    return true;
}

void Conn::beginClose()
{
    if (m_state != State::Open)
        return;
    m_state = State::Closing;
    // One-way: the close frame waits behind everything the server has not consumed yet (it may be pacing
    // us with TCP backpressure), so give it the full --timeout rather than the short close wait.
    const std::uint64_t wait = std::uint64_t(m_host.opts->timeout * 1e9);
    m_closeDeadline = nowNs() + (m_host.opts->oneway ? std::max(kCloseWaitNs, wait) : kCloseWaitNs);
    if (!m_host.opts->raw) {
        static const char code[2] = {char(0x03), char(0xe8)}; // 1000 normal closure
        sendControl(0x8, code, 2);
        m_closeSent = true;
    }
    flush();
}

void Conn::checkTimers(std::uint64_t now)
{
    const std::uint64_t limit = std::uint64_t(m_host.opts->timeout * 1e9);
    switch (m_state) {
    case State::Connecting:
    case State::TlsHandshake:
    case State::Upgrading:
        if (now > m_phaseStart && now - m_phaseStart > limit)
            abort(true);
        break;
    case State::Open:
        if (outstanding() > 0 && now > m_phaseStart && now - m_phaseStart > limit)
            abort(true);
        break;
    case State::Closing:
        // The server did not close TCP after the closing handshake: close from our side, not an error.
        if (now > m_closeDeadline)
            finish(m_closeReceived || m_host.opts->raw);
        break;
    default:
        break;
    }
}

void Conn::fail(std::uint64_t Counters::*which)
{
    ++(m_host.counters.*which);
    abort(false);
}

void Conn::abort(bool timeout)
{
    if (timeout) {
        ++m_host.counters.timeouts;
        if (std::getenv("QWS_LOAD_DEBUG"))
            std::fprintf(stderr, "qws_load: timeout on conn %08x in state %d (%zu bytes unsent, %zu outstanding)\n",
                         m_id, int(m_state), m_out.size() - m_outPos, outstanding());
    }
    if (m_fd >= 0) {
        const linger l{1, 0};
        setsockopt(m_fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    finish(false);
}

void Conn::finish(bool clean)
{
    if (m_state == State::Closed)
        return;
    if (m_ssl) {
        SSL_free(m_ssl);
        m_ssl = nullptr;
    }
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
    m_state = State::Closed;
    m_host.onClosed(*this, clean);
}

} // namespace qwsload
