// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.5.1 / §7: close payload parsing and building, and the closing handshake's state.
#include "close.h"

#include "utf8.h"

namespace qws::protocol {

namespace {

// RFC 6455 §5.5: a control frame carries at most 125 bytes, two of which are the status code.
constexpr std::size_t kMaxReasonBytes = 123;

constexpr bool isContinuationByte(char c) noexcept
{
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace

Error parseClosePayload(std::span<const std::byte> payload, Close &out)
{
    // §5.5.1: the body is optional; without it the code is reported as 1005 (§7.1.5).
    if (payload.empty()) {
        out.code = static_cast<std::uint16_t>(CloseCode::NoStatus);
        out.reason.clear();
        return Error::None;
    }
    // §5.5.1: if there is a body, its first two bytes are the status code.
    if (payload.size() == 1)
        return Error::CloseTooShort;
    // §7.4.1, §7.4.2: 1005, 1006, 1015 and unassigned ranges must not appear on the wire.
    const auto code = static_cast<std::uint16_t>((std::to_integer<unsigned>(payload[0]) << 8)
                                                 | std::to_integer<unsigned>(payload[1]));
    if (!isValidWireCloseCode(code))
        return Error::InvalidCloseCode;
    // §5.5.1: "the data MAY contain UTF-8-encoded data"; §8.1: invalid UTF-8 fails the connection.
    const std::span<const std::byte> reason = payload.subspan(2);
    if (!isValidUtf8(reason))
        return Error::InvalidCloseReason;
    out.code = code;
    out.reason.assign(reinterpret_cast<const char *>(reason.data()), reason.size());
    return Error::None;
}

std::string makeClosePayload(std::uint16_t code, std::string_view reason)
{
    // 1005 means "no code": the frame has no body (§7.4.1). A code that may not be sent (1004, 1006,
    // 1015, < 1000, unassigned) would make the peer fail with 1002, so it is sent as no body too.
    if (!isValidWireCloseCode(code))
        return {};
    if (reason.size() > kMaxReasonBytes) {
        // Cut before the lead byte of the code point that would cross the limit (at most 3 steps
        // back for valid UTF-8), so the reason stays valid UTF-8.
        std::size_t cut = kMaxReasonBytes;
        for (int i = 0; i < 3 && cut > 0 && isContinuationByte(reason[cut]); ++i)
            --cut;
        reason = reason.substr(0, cut);
    }
    // A reason that is not UTF-8 would make the peer fail with 1007 (§8.1); drop it, keep the code.
    if (!isValidUtf8(reason))
        reason = {};
    std::string out;
    out.reserve(2 + reason.size());
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    out.append(reason);
    return out;
}

bool ClosingHandshake::onSend() noexcept
{
    switch (m_state) {
    case State::Open:           // §7.1.2: we start the closing handshake
        m_state = State::CloseSent;
        return true;
    case State::CloseReceived:  // §5.5.1: our answer to the peer's close completes the handshake
        m_state = State::Closed;
        return true;
    case State::CloseSent:      // §5.5.1: at most one close frame per side
    case State::Closed:
        return false;
    }
    return false;
}

bool ClosingHandshake::onReceive() noexcept
{
    switch (m_state) {
    case State::Open:           // §5.5.1: the peer closes first; we must answer with a close frame
        m_state = State::CloseReceived;
        m_peerFirst = true;
        return true;
    case State::CloseSent:      // §7.1.2: the peer's answer completes the handshake
        m_state = State::Closed;
        return false;
    case State::CloseReceived:  // a second close from the peer, or input after we failed: nothing to
    case State::Closed:         // answer (the frame layer reports data after close)
        return false;
    }
    return false;
}

} // namespace qws::protocol
