// SPDX-License-Identifier: BSD-3-Clause
// Every way the protocol core can refuse input, named once (model: Boost.Beast websocket/error.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace qws::protocol {

/// Close codes of RFC 6455 §7.4.1 that the core sends or checks.
enum class CloseCode : std::uint16_t {
    Normal = 1000,
    GoingAway = 1001,
    ProtocolError = 1002,
    UnsupportedData = 1003,
    NoStatus = 1005,          ///< never sent: "the close frame had no code"
    Abnormal = 1006,          ///< never sent: "the TCP connection dropped without a close frame"
    InvalidPayload = 1007,
    PolicyViolation = 1008,
    TooBig = 1009,
    MissingExtension = 1010,
    InternalError = 1011,
    ServiceRestart = 1012,
    TryAgainLater = 1013,
    BadGateway = 1014,
    TlsHandshake = 1015,      ///< never sent
};

/// A refusal of input. Each value maps to exactly one close code (frames) or HTTP status (handshake).
/// Tests assert the value or the code, never the wording of describe().
enum class Error : std::uint8_t {
    None = 0,

    // Opening handshake (RFC 6455 §4.2.1) → HTTP status
    HandshakeMalformed,        ///< 400: not parseable as an HTTP/1.1 request
    HandshakeTooLarge,         ///< 400: header block, a line or the header count over its limit
    HandshakeBadHttpVersion,   ///< 400: HTTP version below 1.1
    HandshakeMissingHost,      ///< 400: no Host header
    HandshakeNotUpgrade,       ///< 400: Upgrade is not websocket, or Connection lacks the Upgrade token
    HandshakeBadKey,           ///< 400: Sec-WebSocket-Key missing or not 16 bytes of base64
    HandshakeMethodNotAllowed, ///< 405: not GET
    HandshakeBadVersion,       ///< 426: Sec-WebSocket-Version missing or not 13
    HandshakeOriginRefused,    ///< 403: the origin was refused by the server
    HandshakeServerFull,       ///< 503: the server cannot take more connections
    HandshakeTimeout,          ///< 408: the client did not finish in time
    HandshakeNotHttp,          ///< 400 at the first byte: it cannot start an HTTP request line
    HandshakeTlsOnPlainPort,   ///< 400 at the first byte: 0x16, a TLS ClientHello (wss:// to a ws:// port)

    // Framing (RFC 6455 §5) → close 1002
    UnmaskedFrame,             ///< §5.1: client frames must be masked
    ReservedBits,              ///< §5.2: RSV bit set without an extension that defines it
    UnknownOpcode,             ///< §5.2: opcode 3–7 or 11–15
    NonMinimalLength,          ///< §5.2: length not in its minimal encoding
    LengthTooLarge,            ///< §5.2: 64-bit length with the most significant bit set
    ControlFrameTooLong,       ///< §5.5: control payload over 125 bytes
    FragmentedControlFrame,    ///< §5.5: control frame without FIN
    UnexpectedContinuation,    ///< §5.4: continuation with no message in progress
    ExpectedContinuation,      ///< §5.4: new data frame while a message is in progress
    CompressedControlFrame,    ///< RFC 7692 §6: RSV1 on a control frame
    CompressedContinuation,    ///< RFC 7692 §6.1: RSV1 on a continuation frame

    // Close frames (RFC 6455 §5.5.1, §7.4) → 1002 / 1007
    CloseTooShort,             ///< 1002: a one-byte close payload
    InvalidCloseCode,          ///< 1002: code outside 1000–1003, 1007–1011(1014), 3000–4999
    InvalidCloseReason,        ///< 1007: reason not UTF-8

    // Payload → 1007 / 1009
    InvalidUtf8,               ///< 1007: text message not UTF-8 (§8.1)
    InflateFailed,             ///< 1007: permessage-deflate data would not decompress
    FrameTooBig,               ///< 1009: frame payload over the configured maximum
    MessageTooBig,             ///< 1009: message (after decompression) over the configured maximum

    // State
    DataAfterClose,            ///< 1002: data frame after the peer's close frame
};

/// The close code a connection fails with for a framing/payload error; 0 for handshake errors and None.
std::uint16_t closeCodeFor(Error e) noexcept;

/// The HTTP status a handshake error is answered with; 0 for non-handshake errors.
int httpStatusFor(Error e) noexcept;

/// A short, stable, human-readable text (no trailing period), e.g. "client frame is not masked".
std::string_view describe(Error e) noexcept;

/// RFC 6455 §7.4: may this code appear in a close frame on the wire?
/// Valid: 1000–1003, 1007–1014 (1012–1014 are IANA-registered), 3000–4999.
bool isValidWireCloseCode(std::uint16_t code) noexcept;

} // namespace qws::protocol
