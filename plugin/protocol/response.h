// SPDX-License-Identifier: BSD-3-Clause
// RFC 6455 §4.2.2 handshake responses: 101 Switching Protocols, or an HTTP error with a short body.
#pragma once

#include "errors.h"

#include <string>
#include <string_view>

namespace qws::protocol {

/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455 §4.2.2 item 5.4.
std::string computeAcceptKey(std::string_view secWebSocketKey);

struct AcceptResponse {
    std::string_view key;           ///< the client's Sec-WebSocket-Key
    std::string_view subprotocol;   ///< empty: no Sec-WebSocket-Protocol header
    std::string_view extensions;    ///< empty: no Sec-WebSocket-Extensions header
    std::string_view serverName;    ///< empty: no Server header
};

/// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, Sec-WebSocket-Accept and the optional
/// headers above, ending with the blank line.
std::string buildAcceptResponse(const AcceptResponse &response);

/// An error response for a handshake Error (400/403/405/408/426/503 from httpStatusFor()) with a short
/// text/plain body (`reason`, or describe(error) when empty), "Connection: close", and for 426 the
/// "Sec-WebSocket-Version: 13" header (§4.4).
std::string buildErrorResponse(Error error, std::string_view reason = {}, std::string_view serverName = {});

} // namespace qws::protocol
