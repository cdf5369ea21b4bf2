// SPDX-License-Identifier: BSD-3-Clause
// The server's handshake responses (RFC 6455 §4.2.2, §4.4): the 101 and short HTTP error replies.
#include "response.h"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but SHA1() and EVP_Digest() look
// the algorithm up (EVP_MD_fetch: a lock and allocations) on every call: measured 2% of a connection
// storm's server CPU. The low-level functions hash directly; they stay in OpenSSL 3.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>

namespace qws::protocol {
namespace {

// RFC 6455 §1.3 / §4.2.2 item 5.4: the GUID every server appends to the client's key.
constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view reasonPhrase(int status) noexcept
{
    // RFC 7231 §6.1
    switch (status) {
    case 101: return "Switching Protocols";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

// Appends "Name: value\r\n", dropping CR, LF and NUL from the value so that no caller-supplied text
// (a server name, a negotiated value) can end the header early and inject its own (response splitting).
void appendHeader(std::string &out, std::string_view name, std::string_view value)
{
    out.append(name);
    out.append(": ");
    constexpr std::string_view kBreaking("\r\n\0", 3);
    if (value.find_first_of(kBreaking) == std::string_view::npos) {
        out.append(value);   // the usual case, in one piece
    } else {
        for (char c : value) {
            if (kBreaking.find(c) == std::string_view::npos)
                out.push_back(c);
        }
    }
    out.append("\r\n");
}

} // namespace

std::string computeAcceptKey(std::string_view secWebSocketKey)
{
    // The key is as sent (RFC 6455 §4.2.2 item 5.4: not decoded, not trimmed further).
    std::array<unsigned char, 64 + kWebSocketGuid.size()> small{};
    std::string large;
    const unsigned char *input = nullptr;
    const std::size_t length = secWebSocketKey.size() + kWebSocketGuid.size();
    if (secWebSocketKey.size() <= 64) {
        std::copy(secWebSocketKey.begin(), secWebSocketKey.end(), small.begin());
        std::copy(kWebSocketGuid.begin(), kWebSocketGuid.end(), small.begin() + secWebSocketKey.size());
        input = small.data();
    } else {
        large.reserve(length);
        large.append(secWebSocketKey).append(kWebSocketGuid);
        input = reinterpret_cast<const unsigned char *>(large.data());
    }
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA_CTX context;
    SHA1_Init(&context);
    SHA1_Update(&context, input, length);
    SHA1_Final(digest.data(), &context);
    // 20 bytes → 28 base64 characters plus the NUL EVP_EncodeBlock writes.
    std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded{};
    const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
    return std::string(reinterpret_cast<const char *>(encoded.data()), static_cast<std::size_t>(n));
}

std::string buildAcceptResponse(const AcceptResponse &response)
{
    // RFC 6455 §4.2.2 item 5: status 101, Upgrade, Connection, Sec-WebSocket-Accept, then the optional
    // subprotocol (item 5.4: one of the client's values) and extensions (§9.1).
    std::string out;
    out.reserve(160 + response.subprotocol.size() + response.extensions.size() + response.serverName.size());
    out.append("HTTP/1.1 101 Switching Protocols\r\n"
               "Upgrade: websocket\r\n"
               "Connection: Upgrade\r\n");
    appendHeader(out, "Sec-WebSocket-Accept", computeAcceptKey(response.key));
    if (!response.subprotocol.empty())
        appendHeader(out, "Sec-WebSocket-Protocol", response.subprotocol);
    if (!response.extensions.empty())
        appendHeader(out, "Sec-WebSocket-Extensions", response.extensions);
    if (!response.serverName.empty())
        appendHeader(out, "Server", response.serverName);
    out.append("\r\n");
    return out;
}

std::string buildErrorResponse(Error error, std::string_view reason, std::string_view serverName)
{
    // A non-handshake error here is a caller mistake; it still gets a well-formed 400.
    int status = httpStatusFor(error);
    if (status == 0)
        status = 400;
    const std::string_view body = reason.empty() ? describe(error) : reason;

    std::array<char, 24> number{};
    std::string out;
    out.reserve(192 + body.size() + serverName.size());
    out.append("HTTP/1.1 ");
    char *end = std::to_chars(number.data(), number.data() + number.size(), status).ptr;
    out.append(number.data(), end);
    out.push_back(' ');
    out.append(reasonPhrase(status));
    out.append("\r\n");
    if (!serverName.empty())
        appendHeader(out, "Server", serverName);
    out.append("Content-Type: text/plain; charset=utf-8\r\n");
    end = std::to_chars(number.data(), number.data() + number.size(), body.size()).ptr;
    appendHeader(out, "Content-Length", std::string_view(number.data(), static_cast<std::size_t>(end - number.data())));
    out.append("Connection: close\r\n");
    if (status == 405)
        out.append("Allow: GET\r\n");                 // RFC 7231 §6.5.5: a 405 lists the allowed methods
    if (status == 426) {
        out.append("Upgrade: websocket\r\n");         // RFC 7231 §6.5.15: a 426 names the protocol
        out.append("Sec-WebSocket-Version: 13\r\n");  // RFC 6455 §4.4: the versions we speak
    }
    out.append("\r\n");
    out.append(body);
    return out;
}

} // namespace qws::protocol
