// SPDX-License-Identifier: BSD-3-Clause
// The incremental upgrade-request parser: RFC 7230 §3 message syntax, RFC 6455 §4.2.1 validation.
#include "handshake.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace qws::protocol {
namespace {

using Status = RequestParser::Status;

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`"
// / "|" / "~" / DIGIT / ALPHA. A table: this runs over every header name.
constexpr std::array<bool, 256> kTchar = [] {
    std::array<bool, 256> t{};
    for (unsigned char c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (unsigned char c = 'a'; c <= 'z'; ++c)
        t[c] = t[c - ('a' - 'A')] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool isToken(std::string_view s) noexcept
{
    bool ok = !s.empty();
    for (char c : s)
        ok &= kTchar[static_cast<unsigned char>(c)];
    return ok;
}

bool isOws(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 7230 §3.2: field-value = *( field-content / obs-fold ); VCHAR, obs-text, SP and HTAB only, so a
// stray CR, NUL or other control byte is refused rather than passed on to the application.
bool isFieldValue(std::string_view s) noexcept
{
    // No early exit: the loop stays branch-free so the compiler can vectorise it.
    bool bad = false;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        bad |= (c < 0x20 && c != '\t') | (c == 0x7f);
    }
    return !bad;
}

// RFC 6455 §4.1: the request-target is an origin-form "/resource name" or an absolute http(s)/ws(s)
// URI containing it (RFC 6455 §4.2.1 item 1). Splits it into path and query.
bool splitTarget(Request &r) noexcept
{
    std::string_view t = r.target;
    for (char ch : t) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    if (t.empty())
        return false;
    if (t.front() != '/') {
        const std::size_t sep = t.find("://");
        if (sep == std::string_view::npos)
            return false;
        const std::string_view scheme = t.substr(0, sep);
        if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")
            && !equalsIgnoreCase(scheme, "ws") && !equalsIgnoreCase(scheme, "wss"))
            return false;
        const std::string_view afterScheme = t.substr(sep + 3);
        const std::size_t pathStart = afterScheme.find_first_of("/?");
        if (pathStart == 0)
            return false; // no authority
        t = pathStart == std::string_view::npos ? std::string_view{} : afterScheme.substr(pathStart);
    }
    const std::size_t q = t.find('?');
    const std::string_view path = t.substr(0, q);
    if (path.empty())
        r.path = "/";
    else
        r.path.assign(path);
    if (q != std::string_view::npos)
        r.query.assign(t.substr(q + 1));
    return true;
}

// RFC 7230 §3.1.1: request-line = method SP request-target SP HTTP-version, HTTP-version = "HTTP/"
// DIGIT "." DIGIT. Syntax errors first, then the version (RFC 6455 §4.2.1 item 1: HTTP/1.1 or
// higher), then the method (GET only).
Error parseRequestLine(std::string_view line, Request &r)
{
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos)
        return Error::HandshakeMalformed;
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos)
        return Error::HandshakeMalformed;
    const std::string_view method = line.substr(0, sp1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!isToken(method) || version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.'
        || version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return Error::HandshakeMalformed;
    r.method.assign(method);
    r.target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
    if (!splitTarget(r))
        return Error::HandshakeMalformed;
    r.httpMajor = version[5] - '0';
    r.httpMinor = version[7] - '0';
    if (r.httpMajor < 1 || (r.httpMajor == 1 && r.httpMinor < 1))
        return Error::HandshakeBadHttpVersion;
    if (method != "GET") // RFC 7230 §3.1.1: methods are case-sensitive
        return Error::HandshakeMethodNotAllowed;
    return Error::None;
}

// RFC 7230 §3.2: header-field = field-name ":" OWS field-value OWS.
Error parseHeaderLine(std::string_view line, Request &r, std::size_t maxHeaderCount)
{
    if (r.headers.size() >= maxHeaderCount)
        return Error::HandshakeTooLarge;
    // RFC 7230 §3.2.4: obs-fold (a line starting with SP/HTAB) is refused, as is whitespace before ':'.
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
        return Error::HandshakeMalformed;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && isOws(value.front()))
        value.remove_prefix(1);
    while (!value.empty() && isOws(value.back()))
        value.remove_suffix(1);
    if (!isToken(name) || !isFieldValue(value))
        return Error::HandshakeMalformed;
    r.headers.push_back(Header{std::string(name), std::string(value)});
    return Error::None;
}

// RFC 4648 §4 alphabet; the key must be 22 such characters then "==" (16 bytes, §4.1 item 7).
bool isValidKey(std::string_view key) noexcept
{
    if (key.size() != 24 || key[22] != '=' || key[23] != '=')
        return false;
    for (std::size_t i = 0; i < 22; ++i) {
        const char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    }
    return true;
}

} // namespace

std::optional<std::string_view> Request::value(std::string_view name) const noexcept
{
    for (const Header &h : headers) {
        if (equalsIgnoreCase(h.name, name))
            return std::string_view(h.value);
    }
    return std::nullopt;
}

std::vector<std::string_view> Request::values(std::string_view name) const
{
    std::vector<std::string_view> out;
    for (const Header &h : headers) {
        if (equalsIgnoreCase(h.name, name))
            out.emplace_back(h.value);
    }
    return out;
}

RequestParser::RequestParser(HandshakeLimits limits)
    : m_limits(limits)
{
}

// RFC 7230 §3.1.1: request-line = method SP …, method = token; §3.5: empty lines (CRLF) before it are
// ignored. `bytes` continues the unfinished request line held in m_buffer (its LF excluded). Returns the
// error at the first byte that cannot belong to a method (its index in `bytes` in `bad`), else None. The
// first byte of the line decides whether this is HTTP at all: TLS records of type handshake start with
// 0x16 (RFC 8446 §5.1), which is what a wss:// client sends to a ws:// port.
Error RequestParser::screenMethod(std::string_view bytes, std::size_t &bad)
{
    std::size_t at = m_buffer.size();   // position in the line of bytes[0]
    for (std::size_t i = 0; i < bytes.size() && !m_methodEnded; ++i, ++at) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        bad = i;
        if (at == 0) {
            if (c == 0x16)
                return Error::HandshakeTlsOnPlainPort;
            if (c != '\r' && !kTchar[c])
                return Error::HandshakeNotHttp;
        } else if (c == ' ') {
            m_methodEnded = true;
        } else if (!kTchar[c]) {
            return Error::HandshakeMalformed;   // a CR not followed by LF lands here too
        } else if (at == 1 && (m_buffer.empty() ? bytes[i - 1] : m_buffer[0]) == '\r') {
            return Error::HandshakeMalformed;   // "\rX": neither an empty line nor a method
        }
    }
    return Error::None;
}

// Lines are parsed as soon as their LF arrives; only an unfinished line is copied into m_buffer, so a
// request that arrives in one read is parsed straight from the caller's bytes, and nothing is scanned
// twice. Each limit is checked against the bytes seen so far, so the first byte that breaks a limit or
// the first bad line decides the error whatever the chunking. On Failed, `consumed` counts the bytes up
// to the end of the bad line (or the first byte over a limit, or the first byte that cannot belong to the
// method); the connection is closed anyway.
RequestParser::Status RequestParser::feed(std::span<const std::byte> in, std::size_t &consumed)
{
    consumed = 0;
    if (m_status != Status::NeedMore)
        return m_status;
    const char *data = reinterpret_cast<const char *>(in.data());
    const std::size_t size = in.size();
    std::size_t pos = 0;
    auto failWith = [&](Error e, std::size_t taken) {
        consumed = taken;
        m_status = Status::Failed;
        m_error = e;
        m_buffer = {};
        return m_status;
    };
    while (pos < size) {
        const char *start = data + pos;
        const std::size_t rest = size - pos;
        // Bytes this line may still take, its LF included, before a limit breaks.
        const std::size_t budget = std::min(m_limits.maxHeaderBytes - std::min(m_limits.maxHeaderBytes, m_scanned),
                                            m_limits.maxLineLength - std::min(m_limits.maxLineLength, m_buffer.size()));
        const std::size_t window = std::min(rest, budget);
        const void *nl = window ? std::memchr(start, '\n', window) : nullptr;
        if (!m_methodEnded && m_request.method.empty()) {
            const std::size_t screened = nl ? std::size_t(static_cast<const char *>(nl) - start) : window;
            std::size_t bad = 0;
            if (const Error e = screenMethod(std::string_view(start, screened), bad); e != Error::None)
                return failWith(e, pos + bad + 1);
        }
        if (!nl) {
            if (rest > budget)
                return failWith(Error::HandshakeTooLarge, pos + budget + 1);
            m_buffer.append(start, rest);
            m_scanned += rest;
            pos = size;
            break;
        }
        const std::size_t take = static_cast<std::size_t>(static_cast<const char *>(nl) - start) + 1;
        m_scanned += take;
        pos += take;
        std::string_view line;
        if (m_buffer.empty()) {
            line = std::string_view(start, take - 1);
        } else {
            m_buffer.append(start, take - 1);
            line = m_buffer;
        }
        // RFC 7230 §3.5: CRLF ends a line, a bare LF is tolerated.
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);

        Error e = Error::None;
        if (m_request.method.empty()) {
            // RFC 7230 §3.5: ignore empty lines before the request-line.
            if (!line.empty()) {
                m_request.headers.reserve(16);
                e = parseRequestLine(line, m_request);
            }
        } else if (line.empty()) {
            m_buffer = {};
            consumed = pos;
            return finish();
        } else {
            e = parseHeaderLine(line, m_request, m_limits.maxHeaderCount);
        }
        m_buffer.clear();
        m_methodEnded = false;
        if (e != Error::None)
            return failWith(e, pos);
    }
    consumed = pos;
    return m_status;
}

// RFC 6455 §4.2.1, checked in the order the section lists the fields, except that the version comes
// before the key: a client of another protocol version then learns from the 426 which one we speak
// (§4.4) instead of getting a 400 for a key it may not even send.
RequestParser::Status RequestParser::finish()
{
    const Header *host = nullptr;
    const Header *key = nullptr;
    const Header *version = nullptr;
    const Header *origin = nullptr;
    const Header *legacyOrigin = nullptr;
    int hostCount = 0, keyCount = 0, versionCount = 0;
    bool upgrade = false, connection = false;
    for (const Header &h : m_request.headers) {
        const std::string_view n = h.name;
        switch (n.size()) {
        case 4:
            if (equalsIgnoreCase(n, "Host"))
                host = hostCount++ ? host : &h;
            break;
        case 6:
            if (!origin && equalsIgnoreCase(n, "Origin"))
                origin = &h;
            break;
        case 7:
            if (!upgrade && equalsIgnoreCase(n, "Upgrade"))
                upgrade = tokenListContains(h.value, "websocket");
            break;
        case 10:
            if (!connection && equalsIgnoreCase(n, "Connection"))
                connection = tokenListContains(h.value, "Upgrade");
            break;
        case 17:
            if (equalsIgnoreCase(n, "Sec-WebSocket-Key"))
                key = keyCount++ ? key : &h;
            break;
        case 20:
            if (!legacyOrigin && equalsIgnoreCase(n, "Sec-WebSocket-Origin"))
                legacyOrigin = &h;
            break;
        case 21:
            if (equalsIgnoreCase(n, "Sec-WebSocket-Version"))
                version = versionCount++ ? version : &h;
            break;
        default:
            break;
        }
    }

    Error e = Error::None;
    if (!host || host->value.empty())
        e = Error::HandshakeMissingHost;        // §4.2.1 item 2
    else if (hostCount > 1)
        e = Error::HandshakeMalformed;          // RFC 7230 §5.4: more than one Host → 400
    else if (!upgrade || !connection)
        e = Error::HandshakeNotUpgrade;         // §4.2.1 items 3 and 4
    else if (!version || versionCount > 1 || version->value != "13")
        e = Error::HandshakeBadVersion;         // §4.2.1 item 6, §4.4
    else if (!key || keyCount > 1 || !isValidKey(key->value))
        e = Error::HandshakeBadKey;             // §4.2.1 item 5, §11.3.1: at most once

    if (e == Error::None) {
        // §4.2.1 items 8 and 9, §11.3.4, §9.1: the offers, from every header of that name, in order.
        for (const Header &h : m_request.headers) {
            if (h.name.size() == 22 && equalsIgnoreCase(h.name, "Sec-WebSocket-Protocol")) {
                if (!parseTokenList(h.value, m_request.subprotocols)) {
                    e = Error::HandshakeMalformed;
                    break;
                }
            } else if (h.name.size() == 24 && equalsIgnoreCase(h.name, "Sec-WebSocket-Extensions")) {
                if (!parseExtensionOffers(h.value, m_request.extensions)) {
                    e = Error::HandshakeMalformed;
                    break;
                }
            }
        }
    }
    if (e != Error::None) {
        m_error = e;
        m_status = Status::Failed;
        return m_status;
    }
    m_request.host = host->value;
    m_request.key = key->value;
    if (origin)
        m_request.origin = origin->value;
    else if (legacyOrigin)
        m_request.origin = legacyOrigin->value;
    m_status = Status::Complete;
    return m_status;
}

} // namespace qws::protocol
