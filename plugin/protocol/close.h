// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §5.5.1 / §7: close frame payloads and the closing handshake's state.
#pragma once

#include "errors.h"
#include "events.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace qws::protocol {

/// Parses a (unmasked) close payload: empty → code 1005; 1 byte → CloseTooShort; a code that may not
/// appear on the wire → InvalidCloseCode; a reason that is not UTF-8 → InvalidCloseReason.
Error parseClosePayload(std::span<const std::byte> payload, Close &out);

/// Builds a close payload: 2-byte code + reason truncated to 123 bytes at a code-point boundary.
/// code 1005 (NoStatus) produces an empty payload.
std::string makeClosePayload(std::uint16_t code, std::string_view reason);

/// The closing handshake (§7.1.2–§7.1.5) from the server's side.
class ClosingHandshake {
public:
    enum class State : std::uint8_t {
        Open,          ///< neither side has sent a close frame
        CloseSent,     ///< we sent close, waiting for the peer's
        CloseReceived, ///< the peer sent close, we have not answered yet
        Closed,        ///< both sent (or we failed): the server closes TCP after flushing
    };
    State state() const noexcept { return m_state; }
    bool canSendData() const noexcept { return m_state == State::Open || m_state == State::CloseReceived; }
    bool canReceiveData() const noexcept { return m_state == State::Open || m_state == State::CloseSent; }

    /// We send a close frame. Returns false if one was already sent (a second must not be sent).
    bool onSend() noexcept;
    /// The peer's close frame arrived. Returns true if we must now answer with a close frame.
    bool onReceive() noexcept;
    /// We failed the connection (§7.1.7): a close frame is sent and no more input is read.
    void onFail() noexcept { m_state = State::Closed; }
    /// The peer's close frame came first and ours answered it (§5.5.1): the peer has said it sends
    /// nothing more, so the server may close TCP as soon as its answer is written (no wait for the
    /// peer's FIN needed to avoid a reset, §7.1.1).
    bool peerClosedFirst() const noexcept { return m_peerFirst && m_state == State::Closed; }

private:
    State m_state = State::Open;
    bool m_peerFirst = false;
};

} // namespace qws::protocol
