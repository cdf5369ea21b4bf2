// SPDX-License-Identifier: BSD-3-Clause
// ServerConnection: the opening handshake (RFC 6455 §4.2), message flow (§5, §6) and the closing
// handshake (§7), as bytes in → events, calls → bytes out.
#include "connection.h"

#include "extensions.h"
#include "frame.h"
#include "response.h"

#include <algorithm>
#include <array>

namespace qws::protocol {

namespace {

std::span<const std::byte> asBytes(std::string_view s) noexcept
{
    return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

} // namespace

struct ServerConnection::HandshakeState {
    explicit HandshakeState(const HandshakeLimits &limits) : parser(limits) {}
    RequestParser parser;
    Request request;
    std::string subprotocol;    // negotiated by accept()
    std::string pendingInput;   // bytes after the request, before accept()
};

struct ServerConnection::Compression {
    // RFC 7692 §7.1.2: we inflate with the client's window, deflate with ours.
    Compression(const DeflateParams &p, int level)
        : params(p)
        , inflater(p.clientMaxWindowBits, p.clientNoContextTakeover)
        , deflater(p.serverMaxWindowBits, p.serverNoContextTakeover, level)
    {
    }
    DeflateParams params;
    Inflater inflater;
    Deflater deflater;
    std::string scratch;   // a compressed message before it is framed
};

ServerConnection::ServerConnection(ConnectionConfig config)
    : ServerConnection(std::make_shared<const ConnectionConfig>(std::move(config)))
{
}

ServerConnection::ServerConnection(std::shared_ptr<const ConnectionConfig> config)
    : m_config(config ? std::move(config) : std::make_shared<const ConnectionConfig>())
    , m_handshake(std::make_unique<HandshakeState>(m_config->handshake))
{
}

std::optional<DeflateParams> ServerConnection::deflateParams() const
{
    if (!m_compression)
        return std::nullopt;
    return m_compression->params;
}

const Request &ServerConnection::request() const noexcept
{
    static const Request empty;
    return m_handshake ? m_handshake->request : empty;
}

const std::string &ServerConnection::subprotocol() const noexcept
{
    static const std::string empty;
    return m_handshake ? m_handshake->subprotocol : empty;
}

const std::string &ServerConnection::closeReason() const noexcept
{
    static const std::string empty;
    return m_closeReason ? *m_closeReason : empty;
}

void ServerConnection::releaseHandshake() noexcept
{
    if (m_state == State::Handshake || m_state == State::AwaitingDecision)
        return;
    m_handshake.reset();
}

ServerConnection::~ServerConnection() = default;

// ---- input -------------------------------------------------------------------------------------

void ServerConnection::receive(std::span<const std::byte> data)
{
    switch (m_state) {
    case State::Handshake: {
        std::size_t consumed = 0;
        HandshakeState &handshake = *m_handshake;
        const RequestParser::Status status = handshake.parser.feed(data, consumed);
        if (status == RequestParser::Status::Failed) {
            m_error = handshake.parser.error();
            m_output += buildErrorResponse(m_error, {}, m_config->serverName);
            m_state = State::Closed;
            m_events.emplace_back(std::in_place_type<Failure>, Failure{m_error});
        } else if (status == RequestParser::Status::Complete) {
            handshake.request = handshake.parser.takeRequest();
            handshake.parser = RequestParser(m_config->handshake);   // its buffer is no longer needed
            const auto rest = data.subspan(std::min(consumed, data.size()));
            handshake.pendingInput.assign(reinterpret_cast<const char *>(rest.data()), rest.size());
            m_state = State::AwaitingDecision;
        }
        return;
    }
    case State::AwaitingDecision:
        // A client may pipeline frames right after its request (§4.1 allows sending once it has the
        // 101, but nothing stops an eager one); keep them for accept().
        m_handshake->pendingInput.append(reinterpret_cast<const char *>(data.data()), data.size());
        return;
    case State::Open:
    case State::Closing:
        processFrames(data, m_events, nullptr);
        return;
    case State::Closed:
        return;
    }
}

void ServerConnection::receive(std::span<const std::byte> data, ReceiveScratch &scratch)
{
    if (m_state == State::Open || m_state == State::Closing)
        processFrames(data, scratch.events, &scratch);
    else
        receive(data);
}

std::span<std::byte> ServerConnection::payloadSink() const noexcept
{
    if ((m_state != State::Open && m_state != State::Closing) || !m_closing.canReceiveData() || !m_assembler)
        return {};
    return m_assembler->payloadSink();
}

void ServerConnection::receivedInPlace(std::size_t n, ReceiveScratch &scratch)
{
    if (payloadSink().empty())
        return;
    const std::size_t first = scratch.events.size();
    m_assembler->feedInPlace(n, scratch.events, &scratch);
    releaseAssemblerAtRest(&scratch);
    handleEvents(scratch.events, first);
}

void ServerConnection::receiveEof()
{
    // §7.1.5: without a received close frame the close code stays 1006 (Abnormal).
    m_state = State::Closed;
}

void ServerConnection::handshakeTimedOut()
{
    if (m_state != State::Handshake && m_state != State::AwaitingDecision)
        return;   // a late timer after the 101 (or after closing) changes nothing
    m_error = Error::HandshakeTimeout;
    m_output += buildErrorResponse(Error::HandshakeTimeout, {}, m_config->serverName);
    m_state = State::Closed;
    m_events.emplace_back(std::in_place_type<Failure>, Failure{Error::HandshakeTimeout});
}

// ---- the opening handshake ------------------------------------------------------------------------

void ServerConnection::accept()
{
    if (m_state != State::AwaitingDecision)
        return;
    const Request &request = m_handshake->request;
    // §4.2.2 item 5.4: at most one subprotocol, the first of ours the client offered.
    if (auto chosen = selectSubprotocol(m_config->subprotocols, request.subprotocols))
        m_handshake->subprotocol = std::move(*chosen);

    std::string extensions;
    if (m_config->deflate.enabled) {
        if (const auto params = negotiateDeflate(request.extensions, m_config->deflate)) {
            m_compression = std::make_unique<Compression>(*params, m_config->deflate.compressionLevel);
            extensions = formatDeflateResponse(*params);
        }
    }

    AcceptResponse response;
    response.key = request.key;
    response.subprotocol = m_handshake->subprotocol;
    response.extensions = extensions;
    response.serverName = m_config->serverName;
    m_output += buildAcceptResponse(response);
    m_state = State::Open;

    if (!m_handshake->pendingInput.empty()) {
        const std::string pending = std::exchange(m_handshake->pendingInput, {});
        processFrames(asBytes(pending), m_events, nullptr);
    }
}

void ServerConnection::reject(Error error, std::string_view reason)
{
    if (m_state != State::Handshake && m_state != State::AwaitingDecision)
        return;
    m_error = error;
    m_output += buildErrorResponse(error, reason, m_config->serverName);
    m_handshake->pendingInput.clear();
    m_state = State::Closed;
}

// ---- frames in -------------------------------------------------------------------------------------

void ServerConnection::processFrames(std::span<const std::byte> data, std::vector<Event> &events,
                                     ReceiveScratch *scratch)
{
    // §5.5.1: after the peer's close frame nothing more is read; after a failure neither.
    if (!m_closing.canReceiveData())
        return;
    const std::size_t first = events.size();
    if (!m_assembler) {
        if (scratch && scratch->assembler) {
            m_assembler = std::move(scratch->assembler);
            *m_assembler = MessageAssembler(m_config->messages, true);   // as new, no allocation
        } else {
            m_assembler = std::make_unique<MessageAssembler>(m_config->messages, true);
        }
        if (m_compression)
            m_assembler->setInflater(&m_compression->inflater);
    }
    m_assembler->feed(data, events, scratch);
    releaseAssemblerAtRest(scratch);
    handleEvents(events, first);
}

// Between messages the assembler holds nothing worth keeping: an idle connection keeps no parser state
// and no buffers (m_control's capacity, the compressed piece). A failed one stays failed.
void ServerConnection::releaseAssemblerAtRest(ReceiveScratch *scratch)
{
    if (!m_assembler->atRest())
        return;
    if (scratch && !scratch->assembler)
        scratch->assembler = std::move(m_assembler);   // the next connection with data takes it
    else
        m_assembler.reset();
}

void ServerConnection::handleEvents(std::vector<Event> &events, std::size_t firstNew)
{
    for (std::size_t i = firstNew; i < events.size(); ++i) {
        Event &event = events[i];
        if (const Ping *ping = std::get_if<Ping>(&event)) {
            // §5.5.2: answer with a pong carrying the same application data; the event still reaches
            // the application (it may count pings).
            if (m_closing.canSendData())
                queueFrame(Opcode::Pong, false, asBytes(ping->payload));
        } else if (const Close *close = std::get_if<Close>(&event)) {
            m_closeCode = close->code;
            if (!close->reason.empty())   // most closes carry none: no allocation for them
                m_closeReason = std::make_unique<std::string>(close->reason);
            if (m_closing.onReceive() && m_closing.onSend()) {
                // §5.5.1: echo the status code; a close without one (1005) is answered without one.
                const std::string payload = makeClosePayload(close->code, {});
                queueFrame(Opcode::Close, false, asBytes(payload));
            }
            m_state = State::Closed;
            // §5.5.1: whatever followed the close frame in this read is not application data.
            events.erase(events.begin() + static_cast<std::ptrdiff_t>(i + 1), events.end());
            return;
        } else if (const Failure *failure = std::get_if<Failure>(&event)) {
            fail(failure->error);
            events.erase(events.begin() + static_cast<std::ptrdiff_t>(i + 1), events.end());
            return;
        }
    }
}

void ServerConnection::fail(Error error)
{
    // §7.1.7: send a close frame (unless one was already sent), then read nothing more.
    m_error = error;
    m_closeCode = closeCodeFor(error);
    m_closeReason = std::make_unique<std::string>(describe(error));
    if (m_closing.onSend()) {
        const std::string payload = makeClosePayload(m_closeCode, *m_closeReason);
        queueFrame(Opcode::Close, false, asBytes(payload));
    }
    m_closing.onFail();
    m_state = State::Closed;
}

// ---- sending -------------------------------------------------------------------------------------

void ServerConnection::queueFrame(Opcode opcode, bool rsv1, std::span<const std::byte> payload)
{
    std::array<std::byte, kMaxFrameHeaderSize> header{};
    const std::size_t headerSize = writeFrameHeader(header, opcode, true, rsv1, payload.size());
    m_output.append(reinterpret_cast<const char *>(header.data()), headerSize);
    m_output.append(reinterpret_cast<const char *>(payload.data()), payload.size());
}

bool ServerConnection::sendData(Opcode opcode, std::span<const std::byte> payload)
{
    if (m_state != State::Open || !m_closing.canSendData())
        return false;
    if (m_compression && payload.size() >= m_config->deflate.minMessageSize) {
        // RFC 7692 §7.2.1: compress the whole message, drop the 00 00 FF FF tail, set RSV1.
        std::string &scratch = m_compression->scratch;
        scratch.clear();
        m_compression->deflater.deflate(payload, scratch);
        queueFrame(opcode, true, asBytes(scratch));
    } else {
        queueFrame(opcode, false, payload);
    }
    return true;
}

bool ServerConnection::sendText(std::string_view utf8)
{
    return sendData(Opcode::Text, asBytes(utf8));
}

bool ServerConnection::sendBinary(std::span<const std::byte> data)
{
    return sendData(Opcode::Binary, data);
}

bool ServerConnection::sendPing(std::string_view payload)
{
    if (m_state != State::Open || !m_closing.canSendData())
        return false;
    queueFrame(Opcode::Ping, false, asBytes(payload.substr(0, kMaxControlPayload)));   // §5.5
    return true;
}

bool ServerConnection::sendPong(std::string_view payload)
{
    if (m_state != State::Open || !m_closing.canSendData())
        return false;
    queueFrame(Opcode::Pong, false, asBytes(payload.substr(0, kMaxControlPayload)));   // §5.5.3: unsolicited is fine
    return true;
}

bool ServerConnection::close(std::uint16_t code, std::string_view reason)
{
    if (m_state != State::Open)
        return false;
    // §7.4.1: 1005/1006/1015 and unassigned codes never go on the wire; 1005 means "no code".
    if (code != static_cast<std::uint16_t>(CloseCode::NoStatus) && !isValidWireCloseCode(code))
        return false;
    if (!m_closing.onSend())
        return false;
    const std::string payload = makeClosePayload(code, reason);
    queueFrame(Opcode::Close, false, asBytes(payload));
    m_state = State::Closing;   // §7.1.2: wait for the peer's close, still reading its messages
    return true;
}

} // namespace qws::protocol
