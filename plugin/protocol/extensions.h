// SPDX-License-Identifier: BSD-3-Clause
// Sec-WebSocket-Extensions / Sec-WebSocket-Protocol header values (RFC 6455 §9.1, §11.3.4; RFC 7230 §3.2.6).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qws::protocol {

struct ExtensionParam {
    std::string name;
    std::optional<std::string> value;   ///< unquoted; nullopt when the parameter had no "=value"
};

struct ExtensionOffer {
    std::string name;
    std::vector<ExtensionParam> params;
};

/// Appends the offers of one Sec-WebSocket-Extensions header value ("a; x=1, b; y" → two offers).
/// Returns false (appending nothing) when the value is not a valid extension list.
bool parseExtensionOffers(std::string_view headerValue, std::vector<ExtensionOffer> &out);

/// Appends the tokens of a comma-separated token list (Sec-WebSocket-Protocol, Connection), trimmed,
/// empty elements skipped. Returns false when an element is not an RFC 7230 token.
bool parseTokenList(std::string_view headerValue, std::vector<std::string> &out);

/// True when `headerValue`'s comma-separated list contains `token`, ASCII case-insensitively.
bool tokenListContains(std::string_view headerValue, std::string_view token) noexcept;

/// RFC 6455 §4.2.2: the first of the server's subprotocols (its preference order) that the client
/// offered (exact, case-sensitive match); nullopt when none matches.
std::optional<std::string> selectSubprotocol(std::span<const std::string> serverPreference,
                                             std::span<const std::string> offered);

/// ASCII case-insensitive equality.
bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;

} // namespace qws::protocol
