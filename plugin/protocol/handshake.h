// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §4.2.1 opening handshake: an incremental HTTP/1.1 upgrade-request parser with limits.
#pragma once

#include "errors.h"
#include "extensions.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qws::protocol {

struct HandshakeLimits {
    std::size_t maxHeaderBytes = 16 * 1024;  ///< request line + headers + blank line
    std::size_t maxHeaderCount = 100;
    std::size_t maxLineLength = 8 * 1024;    ///< one line, its CRLF (or LF) included
};

struct Header {
    std::string name;    ///< as sent
    std::string value;   ///< trimmed of surrounding whitespace
};

/// A validated upgrade request. Copyable and movable (owns its strings).
struct Request {
    std::string method;              ///< "GET"
    std::string target;              ///< request-target as sent, e.g. "/chat?room=1"
    std::string path;                ///< "/chat"
    std::string query;               ///< "room=1" (without '?'), empty if none
    int httpMajor = 1;
    int httpMinor = 1;
    std::vector<Header> headers;     ///< in arrival order; a name may repeat
    std::string host;
    std::string origin;              ///< Origin (or Sec-WebSocket-Origin), empty if absent
    std::string key;                 ///< Sec-WebSocket-Key as sent
    std::vector<std::string> subprotocols;    ///< all Sec-WebSocket-Protocol values, in order
    std::vector<ExtensionOffer> extensions;   ///< all Sec-WebSocket-Extensions offers, in order

    /// First value of a header (ASCII case-insensitive name), nullopt if absent.
    std::optional<std::string_view> value(std::string_view name) const noexcept;
    /// Every value of a header, in order.
    std::vector<std::string_view> values(std::string_view name) const;
};

/// Reads a request incrementally. Feed it what the socket delivers; it takes bytes up to and
/// including the blank line that ends the header block and never more, so bytes that followed the
/// request in the same read stay with the caller for the frame parser.
class RequestParser {
public:
    enum class Status : std::uint8_t { NeedMore, Complete, Failed };

    explicit RequestParser(HandshakeLimits limits = {});

    /// Consumes from `in`; `consumed` is set to the bytes taken. Complete: request() is valid and
    /// validated (§4.2.1). Failed: error() says why (its HTTP status via httpStatusFor()).
    /// Fails fast: the method is checked byte by byte as it arrives, so a peer that is not speaking
    /// HTTP (a TLS ClientHello: HandshakeTlsOnPlainPort; any other first byte that cannot start a
    /// request line: HandshakeNotHttp; a later non-token byte before the first SP: HandshakeMalformed)
    /// is refused at its first wrong byte instead of at the end of a line that may never come.
    /// After Complete or Failed, further calls consume nothing and return the same status.
    Status feed(std::span<const std::byte> in, std::size_t &consumed);

    Status status() const noexcept { return m_status; }
    Error error() const noexcept { return m_error; }
    const Request &request() const noexcept { return m_request; }
    Request takeRequest() noexcept { return std::move(m_request); }

private:
    Status finish();
    Error screenMethod(std::string_view bytes, std::size_t &bad);

    HandshakeLimits m_limits;
    std::string m_buffer;     // the unfinished line (complete lines are parsed at once, never rescanned)
    std::size_t m_scanned = 0;// bytes of the header block taken so far (for maxHeaderBytes)
    bool m_methodEnded = false;// the request line's SP after the method was seen (screenMethod() is done)
    Status m_status = Status::NeedMore;
    Error m_error = Error::None;
    Request m_request;
};

} // namespace qws::protocol
