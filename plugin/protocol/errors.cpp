// SPDX-License-Identifier: BSD-3-Clause
// Error → close code / HTTP status / short text, and the RFC 6455 §7.4 close-code validity table.
#include "errors.h"

namespace qws::protocol {

std::uint16_t closeCodeFor(Error e) noexcept
{
    switch (e) {
    // RFC 6455 §7.4.1: 1002 for protocol violations of §5 and of the close rules.
    case Error::UnmaskedFrame:
    case Error::ReservedBits:
    case Error::UnknownOpcode:
    case Error::NonMinimalLength:
    case Error::LengthTooLarge:
    case Error::ControlFrameTooLong:
    case Error::FragmentedControlFrame:
    case Error::UnexpectedContinuation:
    case Error::ExpectedContinuation:
    case Error::CompressedControlFrame:
    case Error::CompressedContinuation:
    case Error::CloseTooShort:
    case Error::InvalidCloseCode:
    case Error::DataAfterClose:
        return static_cast<std::uint16_t>(CloseCode::ProtocolError);
    // RFC 6455 §7.4.1 / §8.1: 1007 for data inconsistent with the message type.
    case Error::InvalidCloseReason:
    case Error::InvalidUtf8:
    case Error::InflateFailed:
        return static_cast<std::uint16_t>(CloseCode::InvalidPayload);
    // RFC 6455 §7.4.1: 1009 for a message too big to process.
    case Error::FrameTooBig:
    case Error::MessageTooBig:
        return static_cast<std::uint16_t>(CloseCode::TooBig);
    case Error::None:
    case Error::HandshakeMalformed:
    case Error::HandshakeTooLarge:
    case Error::HandshakeBadHttpVersion:
    case Error::HandshakeMissingHost:
    case Error::HandshakeNotUpgrade:
    case Error::HandshakeBadKey:
    case Error::HandshakeMethodNotAllowed:
    case Error::HandshakeBadVersion:
    case Error::HandshakeOriginRefused:
    case Error::HandshakeServerFull:
    case Error::HandshakeTimeout:
    case Error::HandshakeNotHttp:
    case Error::HandshakeTlsOnPlainPort:
        return 0;
    }
    return 0;
}

int httpStatusFor(Error e) noexcept
{
    switch (e) {
    case Error::HandshakeMalformed:
    case Error::HandshakeTooLarge:
    case Error::HandshakeBadHttpVersion:
    case Error::HandshakeMissingHost:
    case Error::HandshakeNotUpgrade:
    case Error::HandshakeBadKey:
    case Error::HandshakeNotHttp:
    case Error::HandshakeTlsOnPlainPort:
        return 400;
    case Error::HandshakeMethodNotAllowed:
        return 405;
    case Error::HandshakeBadVersion:
        return 426; // RFC 6455 §4.4: answer with the versions we speak
    case Error::HandshakeOriginRefused:
        return 403; // RFC 6455 §4.2.2 item 4
    case Error::HandshakeServerFull:
        return 503;
    case Error::HandshakeTimeout:
        return 408;
    default:
        return 0;
    }
}

std::string_view describe(Error e) noexcept
{
    switch (e) {
    case Error::None: return "no error";
    case Error::HandshakeMalformed: return "malformed upgrade request";
    case Error::HandshakeTooLarge: return "upgrade request too large";
    case Error::HandshakeBadHttpVersion: return "HTTP/1.1 or later required";
    case Error::HandshakeMissingHost: return "missing Host header";
    case Error::HandshakeNotUpgrade: return "not a WebSocket upgrade request";
    case Error::HandshakeBadKey: return "missing or invalid Sec-WebSocket-Key";
    case Error::HandshakeMethodNotAllowed: return "method not allowed, use GET";
    case Error::HandshakeBadVersion: return "unsupported Sec-WebSocket-Version, use 13";
    case Error::HandshakeOriginRefused: return "origin not allowed";
    case Error::HandshakeServerFull: return "server is full, try again later";
    case Error::HandshakeTimeout: return "upgrade request timed out";
    case Error::HandshakeNotHttp: return "not an HTTP request (first byte cannot start a request line)";
    case Error::HandshakeTlsOnPlainPort: return "not HTTP: a TLS ClientHello (a wss:// client on a ws:// port?)";
    case Error::UnmaskedFrame: return "client frame is not masked";
    case Error::ReservedBits: return "reserved bits set";
    case Error::UnknownOpcode: return "unknown opcode";
    case Error::NonMinimalLength: return "payload length not minimally encoded";
    case Error::LengthTooLarge: return "payload length has its most significant bit set";
    case Error::ControlFrameTooLong: return "control frame payload over 125 bytes";
    case Error::FragmentedControlFrame: return "control frame is fragmented";
    case Error::UnexpectedContinuation: return "continuation frame without a message in progress";
    case Error::ExpectedContinuation: return "new data frame while a message is in progress";
    case Error::CompressedControlFrame: return "compressed control frame";
    case Error::CompressedContinuation: return "RSV1 set on a continuation frame";
    case Error::CloseTooShort: return "close frame payload of one byte";
    case Error::InvalidCloseCode: return "invalid close code";
    case Error::InvalidCloseReason: return "close reason is not valid UTF-8";
    case Error::InvalidUtf8: return "text message is not valid UTF-8";
    case Error::InflateFailed: return "compressed message could not be inflated";
    case Error::FrameTooBig: return "frame too big";
    case Error::MessageTooBig: return "message too big";
    case Error::DataAfterClose: return "data frame after close frame";
    }
    return "unknown error";
}

bool isValidWireCloseCode(std::uint16_t code) noexcept
{
    // RFC 6455 §7.4.1/§7.4.2: 1004–1006 and 1015 are reserved and never sent; 1012–1014 are registered
    // with IANA since; 3000–3999 are for libraries/frameworks, 4000–4999 for private use.
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

} // namespace qws::protocol
