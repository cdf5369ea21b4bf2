// SPDX-License-Identifier: BSD-3-Clause
// The sans-I/O server side of one WebSocket connection: bytes in → events; send…() → bytes out.
// Drive it with two verbs (model: python-websockets protocol.py): receive() what the socket read,
// then takeEvents() and takeOutput(). Time enters as calls (handshakeTimedOut()), never as a timer.
#pragma once

#include "close.h"
#include "deflate.h"
#include "errors.h"
#include "events.h"
#include "handshake.h"
#include "message.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qws::protocol {

struct ConnectionConfig {
    HandshakeLimits handshake;
    MessageLimits messages;
    DeflateOptions deflate;                 ///< deflate.enabled = false: never negotiate compression
    std::vector<std::string> subprotocols;  ///< server preference order
    std::string serverName;                 ///< sent as the Server header when not empty
};

class ServerConnection {
public:
    enum class State : std::uint8_t {
        Handshake,        ///< reading the upgrade request
        AwaitingDecision, ///< request() is complete and valid: call accept() or reject()
        Open,             ///< 101 sent: messages flow
        Closing,          ///< a close frame was sent or received
        Closed,           ///< nothing more to read or send; close TCP once output is flushed
    };

    explicit ServerConnection(ConnectionConfig config = {});
    /// Shares one immutable config among many connections (no per-connection copy of the
    /// subprotocol list or server name). An engine holding a shared_ptr to a struct that contains the
    /// config can pass an aliasing pointer: std::shared_ptr<const ConnectionConfig>(owner, &owner->connection).
    explicit ServerConnection(std::shared_ptr<const ConnectionConfig> config);
    ~ServerConnection();
    ServerConnection(const ServerConnection &) = delete;
    ServerConnection &operator=(const ServerConnection &) = delete;

    State state() const noexcept { return m_state; }

    // ---- input -------------------------------------------------------------------------------
    /// Feeds bytes read from the socket. In Handshake the request is parsed (bytes after it are kept
    /// until accept()); in Open/Closing frames are parsed into events. A bad request queues an HTTP
    /// error response and moves to Closed with a Failure event; a protocol violation queues a close
    /// frame (§7.1.7) with a Failure event. Input after Closed is ignored.
    void receive(std::span<const std::byte> data);
    /// The same, for a caller that drives many connections on one thread: once Open, the events of
    /// this call are appended to `scratch.events` (not kept for takeEvents()), and payloads and the
    /// assembler come from `scratch` (see ReceiveScratch). Events of earlier calls (accept() runs the
    /// frames that came with the request) still wait in takeEvents() and come first. In the handshake
    /// this is receive(data).
    void receive(std::span<const std::byte> data, ReceiveScratch &scratch);
    /// Zero copy for large messages: while a large binary message arrives into storage from
    /// ReceiveScratch::allocator, the rest of its payload may be read straight into this span (else it
    /// is empty). After writing `n` bytes at its start, call receivedInPlace(n, scratch): the same as
    /// receive() of those bytes, without copying them out of the read buffer.
    std::span<std::byte> payloadSink() const noexcept;
    void receivedInPlace(std::size_t n, ReceiveScratch &scratch);
    /// The peer closed its sending side (TCP FIN). Moves to Closed.
    void receiveEof();
    /// The handshake did not complete in time: queues a 408 response, moves to Closed.
    void handshakeTimedOut();

    // ---- the opening handshake ----------------------------------------------------------------
    /// The parsed request; valid from AwaitingDecision on, until releaseHandshake().
    const Request &request() const noexcept;
    /// Frees the parsed request and the parser once the caller has copied what it needs (the
    /// handshake hands over, then goes away: an idle open connection keeps none of it). Afterwards
    /// request() is empty. Only once Open, Closing or Closed; ignored before.
    void releaseHandshake() noexcept;
    /// Accepts: negotiates the subprotocol and permessage-deflate from the config, queues the 101,
    /// moves to Open and parses any bytes that followed the request. Only in AwaitingDecision.
    void accept();
    /// Refuses with a handshake error (HandshakeOriginRefused → 403, HandshakeServerFull → 503, …);
    /// queues the HTTP response and moves to Closed. Only in Handshake/AwaitingDecision.
    void reject(Error error, std::string_view reason = {});

    /// Negotiated values (valid once Open). The subprotocol is part of the handshake state: valid
    /// until releaseHandshake(), empty afterwards (copy it first, as for request()).
    const std::string &subprotocol() const noexcept;
    std::optional<DeflateParams> deflateParams() const;
    bool isCompressed() const noexcept { return m_compression != nullptr; }

    // ---- sending ------------------------------------------------------------------------------
    /// Queue a message as one frame (compressed when negotiated and worthwhile). Ignored unless the
    /// closing handshake allows sending data. Return false when ignored.
    bool sendText(std::string_view utf8);
    bool sendBinary(std::span<const std::byte> data);
    bool sendPing(std::string_view payload = {});   ///< payload truncated to 125 bytes
    bool sendPong(std::string_view payload = {});
    /// Starts the closing handshake (§7.1.2). After the peer answers, the state becomes Closed.
    bool close(std::uint16_t code = 1000, std::string_view reason = {});

    // ---- output -------------------------------------------------------------------------------
    bool hasOutput() const noexcept { return !m_output.empty(); }
    /// Takes all bytes to write, in order.
    std::string takeOutput() { return std::exchange(m_output, {}); }
    bool hasEvents() const noexcept { return !m_events.empty(); }
    std::vector<Event> takeEvents() { return std::exchange(m_events, {}); }

    /// Why the connection ended: the close code sent/received, or 1006 when TCP dropped without one.
    std::uint16_t closeCode() const noexcept { return m_closeCode; }
    const std::string &closeReason() const noexcept;
    Error error() const noexcept { return m_error; }
    /// True once the peer started the closing handshake and our answer was queued (see
    /// ClosingHandshake::peerClosedFirst()).
    bool peerClosedFirst() const noexcept { return m_closing.peerClosedFirst(); }

private:
    void processFrames(std::span<const std::byte> data, std::vector<Event> &events, ReceiveScratch *scratch);
    void handleEvents(std::vector<Event> &events, std::size_t firstNew);
    void releaseAssemblerAtRest(ReceiveScratch *scratch);
    void fail(Error error);
    void queueFrame(Opcode opcode, bool rsv1, std::span<const std::byte> payload);
    bool sendData(Opcode opcode, std::span<const std::byte> payload);

    struct HandshakeState;   // parser, request, subprotocol, bytes after the request: until releaseHandshake()
    struct Compression;      // negotiated parameters, zlib streams, scratch: only when negotiated

    // Idle connections are many: what only some phases need lives behind a pointer, allocated when
    // needed and freed when done (the handshake once open, the assembler between messages).
    std::shared_ptr<const ConnectionConfig> m_config;   // never null
    std::unique_ptr<HandshakeState> m_handshake;
    std::unique_ptr<MessageAssembler> m_assembler;      // null between messages (see processFrames)
    std::unique_ptr<Compression> m_compression;
    std::string m_output;
    std::vector<Event> m_events;
    std::unique_ptr<std::string> m_closeReason;         // null until a close (an open connection has none)
    std::uint16_t m_closeCode = 1006;
    State m_state = State::Handshake;
    ClosingHandshake m_closing;
    Error m_error = Error::None;
};

} // namespace qws::protocol
