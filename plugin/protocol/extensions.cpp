// SPDX-License-Identifier: BSD-3-Clause
// RFC 7230 §3.2.6 tokens and quoted-strings for Sec-WebSocket-Extensions / -Protocol (RFC 6455 §9.1, §11.3.4).
#include "extensions.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace qws::protocol {
namespace {

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
// / "~" / DIGIT / ALPHA.
constexpr std::array<bool, 256> makeTcharTable()
{
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}
constexpr std::array<bool, 256> kTchar = makeTcharTable();

bool isTchar(char c) noexcept { return kTchar[static_cast<unsigned char>(c)]; }
bool isOws(char c) noexcept { return c == ' ' || c == '\t'; }

bool isToken(std::string_view s) noexcept
{
    return !s.empty() && std::all_of(s.begin(), s.end(), isTchar);
}

std::string_view trimOws(std::string_view s) noexcept
{
    while (!s.empty() && isOws(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isOws(s.back()))
        s.remove_suffix(1);
    return s;
}

constexpr std::array<unsigned char, 256> kLower = [] {
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return t;
}();

// A cursor over one header value; every reader skips nothing implicitly, so the grammar stays visible.
struct Cursor {
    std::string_view s;
    std::size_t i = 0;

    bool atEnd() const noexcept { return i >= s.size(); }
    char peek() const noexcept { return s[i]; }
    void skipOws() noexcept
    {
        while (!atEnd() && isOws(s[i]))
            ++i;
    }
    std::string_view token() noexcept
    {
        const std::size_t start = i;
        while (!atEnd() && isTchar(s[i]))
            ++i;
        return s.substr(start, i - start);
    }
    // RFC 7230 §3.2.6: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, unescaped into `out`.
    bool quotedString(std::string &out)
    {
        ++i; // opening DQUOTE
        while (!atEnd()) {
            const auto c = static_cast<unsigned char>(s[i++]);
            if (c == '"')
                return true;
            if (c == '\\') {
                if (atEnd())
                    return false;
                const auto e = static_cast<unsigned char>(s[i++]);
                if (e != '\t' && (e < 0x20 || e == 0x7f))
                    return false;
                out.push_back(static_cast<char>(e));
            } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
                out.push_back(static_cast<char>(c));
            } else {
                return false;
            }
        }
        return false; // unterminated
    }
};

// extension-param = token [ "=" (token | quoted-string) ]  (RFC 6455 §9.1). The quoted variant must
// still be a token once unescaped.
bool parseParam(Cursor &c, ExtensionParam &param)
{
    const std::string_view name = c.token();
    if (name.empty())
        return false;
    param.name.assign(name);
    c.skipOws();
    if (c.atEnd() || c.peek() != '=')
        return true;
    ++c.i;
    c.skipOws();
    if (c.atEnd())
        return false;
    std::string value;
    if (c.peek() == '"') {
        if (!c.quotedString(value) || !isToken(value))
            return false;
    } else {
        const std::string_view v = c.token();
        if (v.empty())
            return false;
        value.assign(v);
    }
    param.value = std::move(value);
    c.skipOws();
    return true;
}

} // namespace

bool parseExtensionOffers(std::string_view headerValue, std::vector<ExtensionOffer> &out)
{
    // RFC 6455 §9.1: extension-list = 1#extension; extension = extension-token *( ";" extension-param ).
    // RFC 7230 §7: empty list elements (", ,") are ignored.
    const std::size_t before = out.size();
    auto reject = [&] {
        out.resize(before);
        return false;
    };
    Cursor c{headerValue};
    for (;;) {
        c.skipOws();
        if (c.atEnd())
            break;
        if (c.peek() == ',') {
            ++c.i;
            continue;
        }
        ExtensionOffer &offer = out.emplace_back();
        const std::string_view name = c.token();
        if (name.empty())
            return reject();
        offer.name.assign(name);
        c.skipOws();
        while (!c.atEnd() && c.peek() == ';') {
            ++c.i;
            c.skipOws();
            if (!parseParam(c, offer.params.emplace_back()))
                return reject();
        }
        if (!c.atEnd() && c.peek() != ',')
            return reject();
    }
    return true;
}

bool parseTokenList(std::string_view headerValue, std::vector<std::string> &out)
{
    // RFC 7230 §7: 1#token, OWS around commas, empty elements ignored. All or nothing.
    const std::size_t before = out.size();
    std::size_t start = 0;
    while (start <= headerValue.size()) {
        std::size_t comma = headerValue.find(',', start);
        if (comma == std::string_view::npos)
            comma = headerValue.size();
        const std::string_view element = trimOws(headerValue.substr(start, comma - start));
        if (!element.empty()) {
            if (!isToken(element)) {
                out.resize(before);
                return false;
            }
            out.emplace_back(element);
        }
        start = comma + 1;
    }
    return true;
}

bool tokenListContains(std::string_view headerValue, std::string_view token) noexcept
{
    if (token.empty())
        return false;
    std::size_t start = 0;
    while (start <= headerValue.size()) {
        std::size_t comma = headerValue.find(',', start);
        if (comma == std::string_view::npos)
            comma = headerValue.size();
        if (equalsIgnoreCase(trimOws(headerValue.substr(start, comma - start)), token))
            return true;
        start = comma + 1;
    }
    return false;
}

std::optional<std::string> selectSubprotocol(std::span<const std::string> serverPreference,
                                             std::span<const std::string> offered)
{
    // RFC 6455 §4.2.2 item 5.4: the server picks one of the client's values; subprotocol names are
    // compared exactly (§11.3.4 registers them case-sensitively).
    for (const std::string &mine : serverPreference) {
        if (std::find(offered.begin(), offered.end(), mine) != offered.end())
            return mine;
    }
    return std::nullopt;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (kLower[static_cast<unsigned char>(a[i])] != kLower[static_cast<unsigned char>(b[i])])
            return false;
    }
    return true;
}

} // namespace qws::protocol
