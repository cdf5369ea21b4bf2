// SPDX-License-Identifier: BSD-3-Clause
// What a connection's handshake said, kept for WebSocket::request()/requestHeaders()/origin()/… in one
// compact heap block for the life of the connection.
#pragma once

#include <QtCore/QByteArrayView>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qws::protocol {
struct Header;
}

namespace qws {

/// The handshake's request-target, negotiated subprotocol and headers (in arrival order, names as sent)
/// in one block: "target\0subprotocol\0", one entry per header, and a final '\0'. The block is a
/// single pointer (no size: the final '\0' ends it), so a Channel pays 8 bytes for it.
///
/// Every idle connection keeps its block, so the usual headers cost one byte: an entry starts with a
/// header name (an RFC 7230 token: printable ASCII) written out as "name\0value\0", or with a byte below
/// 0x20 that stands for a common name spelled exactly so ("Host", "Sec-WebSocket-Key", …; then
/// "value\0" follows) or for a whole common header ("Upgrade: websocket", "Sec-WebSocket-Version: 13";
/// nothing follows). A typical client's block shrinks from ~130 bytes to ~50 (docs/benchmarks.md).
class RequestBlock
{
public:
    RequestBlock() = default;
    RequestBlock(const std::string &target, const std::string &subprotocol,
                 const std::vector<protocol::Header> &headers);

    QByteArrayView target() const;
    QByteArrayView subprotocol() const;
    /// Calls `visit(name, value)` for each header in arrival order until it returns false.
    template <typename Visit>
    void forEachHeader(Visit visit) const;
    /// The value of the first header named `name` (ASCII, any case).
    std::optional<QByteArrayView> header(QByteArrayView name) const;
    /// Bytes held on the heap (0 for an empty block).
    std::size_t size() const;

private:
    /// Decodes the entry at `position`: its name and value; returns the position after it, or -1 at
    /// the end (or on a malformed block).
    qsizetype entryAt(qsizetype position, QByteArrayView &name, QByteArrayView &value) const;
    qsizetype headersStart() const;

    std::unique_ptr<char[]> m_data;
};

template <typename Visit>
void RequestBlock::forEachHeader(Visit visit) const
{
    QByteArrayView name;
    QByteArrayView value;
    for (qsizetype position = headersStart(); position >= 0;) {
        position = entryAt(position, name, value);
        if (position < 0 || !visit(name, value))
            return;
    }
}

} // namespace qws
