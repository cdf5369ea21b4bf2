// SPDX-License-Identifier: BSD-3-Clause
// RequestBlock: the handshake kept per connection, with one-byte codes for the usual headers.
#include "requestblock_p.h"

#include <protocol/handshake.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string_view>

namespace qws {

namespace {

struct CommonHeader {
    std::string_view name;
    std::string_view value;
};

// Whole headers as the usual clients send them (Qt, Chromium, Firefox, python-websockets, node-ws):
// codes 0x01…, nothing follows the code.
constexpr CommonHeader kCommonHeaders[] = {
    {"Upgrade", "websocket"},
    {"Connection", "Upgrade"},
    {"Sec-WebSocket-Version", "13"},
    {"Connection", "keep-alive, Upgrade"},
    {"Pragma", "no-cache"},
    {"Cache-Control", "no-cache"},
    {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
};

// Common names, spelled exactly so: codes kFirstName…, "value\0" follows the code.
constexpr char kFirstName = 0x10;
constexpr std::string_view kCommonNames[] = {
    "Host", "Sec-WebSocket-Key", "Origin", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol",
    "User-Agent", "Accept-Encoding", "Accept-Language", "Cookie", "Authorization", "Sec-WebSocket-Origin",
    "Accept", "Connection", "Upgrade", "Sec-WebSocket-Version", "X-Forwarded-For",
};

static_assert(std::size(kCommonHeaders) < std::size_t(kFirstName), "header codes overlap name codes");
static_assert(kFirstName + std::size(kCommonNames) <= 0x20, "codes must stay below the first token byte");

QByteArrayView view(std::string_view text)
{
    return QByteArrayView(text.data(), qsizetype(text.size()));
}

/// The code of a whole common header, or 0.
char headerCode(const protocol::Header &header)
{
    for (std::size_t i = 0; i < std::size(kCommonHeaders); ++i) {
        if (kCommonHeaders[i].name == header.name && kCommonHeaders[i].value == header.value)
            return char(1 + i);
    }
    return 0;
}

/// The code of a common name, or 0.
char nameCode(const std::string &name)
{
    for (std::size_t i = 0; i < std::size(kCommonNames); ++i) {
        if (kCommonNames[i] == name)
            return char(kFirstName + i);
    }
    return 0;
}

/// Where the NUL-terminated string at `position` ends (its NUL).
qsizetype stringEnd(const char *data, qsizetype position)
{
    return position + qsizetype(std::strlen(data + position));
}

} // namespace

RequestBlock::RequestBlock(const std::string &target, const std::string &subprotocol,
                           const std::vector<protocol::Header> &headers)
{
    std::size_t total = target.size() + 1 + subprotocol.size() + 1 + 1;
    for (const protocol::Header &header : headers) {
        if (headerCode(header))
            total += 1;
        else if (nameCode(header.name))
            total += 1 + header.value.size() + 1;
        else
            total += header.name.size() + 1 + header.value.size() + 1;
    }
    m_data = std::make_unique_for_overwrite<char[]>(total);
    char *out = m_data.get();
    auto put = [&out](const std::string &text) {
        out = std::copy(text.begin(), text.end(), out);
        *out++ = '\0';
    };
    put(target);
    put(subprotocol);
    for (const protocol::Header &header : headers) {
        if (const char code = headerCode(header)) {
            *out++ = code;
        } else if (const char code = nameCode(header.name)) {
            *out++ = code;
            put(header.value);
        } else {
            put(header.name);
            put(header.value);
        }
    }
    *out++ = '\0';
}

QByteArrayView RequestBlock::target() const
{
    return m_data ? QByteArrayView(m_data.get()) : QByteArrayView();
}

QByteArrayView RequestBlock::subprotocol() const
{
    return m_data ? QByteArrayView(m_data.get() + target().size() + 1) : QByteArrayView();
}

qsizetype RequestBlock::headersStart() const
{
    return m_data ? target().size() + 1 + subprotocol().size() + 1 : -1;
}

qsizetype RequestBlock::entryAt(qsizetype position, QByteArrayView &name, QByteArrayView &value) const
{
    const char *data = m_data.get();
    const unsigned char first = static_cast<unsigned char>(data[position]);
    if (first == 0)
        return -1;
    if (first < unsigned(kFirstName)) {
        if (first > std::size(kCommonHeaders))
            return -1;
        name = view(kCommonHeaders[first - 1].name);
        value = view(kCommonHeaders[first - 1].value);
        return position + 1;
    }
    qsizetype valueStart;
    if (first < 0x20) {
        if (first - unsigned(kFirstName) >= std::size(kCommonNames))
            return -1;
        name = view(kCommonNames[first - unsigned(kFirstName)]);
        valueStart = position + 1;
    } else {
        const qsizetype nameEnd = stringEnd(data, position);
        name = QByteArrayView(data + position, nameEnd - position);
        valueStart = nameEnd + 1;
    }
    const qsizetype valueEnd = stringEnd(data, valueStart);
    value = QByteArrayView(data + valueStart, valueEnd - valueStart);
    return valueEnd + 1;
}

std::optional<QByteArrayView> RequestBlock::header(QByteArrayView name) const
{
    std::optional<QByteArrayView> found;
    forEachHeader([&](QByteArrayView headerName, QByteArrayView value) {
        if (headerName.compare(name, Qt::CaseInsensitive) != 0)
            return true;
        found = value;
        return false;
    });
    return found;
}

std::size_t RequestBlock::size() const
{
    if (!m_data)
        return 0;
    QByteArrayView name;
    QByteArrayView value;
    qsizetype position = headersStart();
    for (qsizetype next = position; next >= 0; next = entryAt(position, name, value))
        position = next;
    return std::size_t(position) + 1;   // the final '\0'
}

} // namespace qws
