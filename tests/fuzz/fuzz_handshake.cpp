// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer target: RequestParser (RFC 6455 §4.2.1) on chunked input, then the response it leads to.
#include "protocol/handshake.h"
#include "protocol/response.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using namespace qws::protocol;
using Status = RequestParser::Status;

namespace {

void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

// The first byte picks the chunking (idea from uWebSockets fuzzing/helpers.h makeChunked): 0 feeds
// the rest whole, otherwise chunk sizes in 1..seed follow a small LCG seeded by it. Its top bit also
// picks tight limits, so the limit paths get their share of the inputs.
std::vector<std::span<const std::byte>> makeChunks(std::uint8_t seed, std::span<const std::byte> data)
{
    std::vector<std::span<const std::byte>> chunks;
    if (seed == 0) {
        chunks.push_back(data);
        return chunks;
    }
    const std::size_t maxChunk = (seed & 0x7f) + 1;
    std::uint32_t state = seed * 2654435761u;
    std::size_t at = 0;
    while (at < data.size()) {
        state = state * 1664525u + 1013904223u;
        const std::size_t n = std::min<std::size_t>(1 + (state >> 16) % maxChunk, data.size() - at);
        chunks.push_back(data.subspan(at, n));
        at += n;
    }
    return chunks;
}

struct Result {
    Status status = Status::NeedMore;
    Error error = Error::None;
    std::size_t consumed = 0;
};

Result run(RequestParser &parser, const std::vector<std::span<const std::byte>> &chunks)
{
    Result r;
    for (auto chunk : chunks) {
        std::size_t consumed = SIZE_MAX;
        r.status = parser.feed(chunk, consumed);
        check(consumed <= chunk.size());
        r.consumed += consumed;
        if (r.status == Status::NeedMore) {
            check(consumed == chunk.size());
            continue;
        }
        std::size_t again = SIZE_MAX; // finished: nothing more is taken, the verdict stays
        check(parser.feed(chunk, again) == r.status && again == 0);
        break;
    }
    check(parser.status() == r.status);
    r.error = parser.error();
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::uint8_t seed = data[0];
    const std::span<const std::byte> input(reinterpret_cast<const std::byte *>(data + 1), size - 1);

    HandshakeLimits limits;
    if (seed & 0x80) {
        limits.maxHeaderBytes = 512;
        limits.maxHeaderCount = 8;
        limits.maxLineLength = 128;
    }

    RequestParser chunked(limits);
    const Result r = run(chunked, makeChunks(seed, input));

    // The verdict must not depend on the chunking: compare with one whole feed.
    RequestParser whole(limits);
    const Result w = run(whole, {input});
    check(w.status == r.status && w.error == r.error);

    switch (r.status) {
    case Status::NeedMore:
        check(r.error == Error::None && r.consumed == input.size() && w.consumed == input.size());
        check(r.consumed <= limits.maxHeaderBytes);
        break;
    case Status::Complete: {
        check(r.error == Error::None && r.consumed == w.consumed && r.consumed <= input.size());
        check(r.consumed <= limits.maxHeaderBytes);
        // It stopped right after the blank line: the bytes it took end with LF (CR) LF.
        const auto *taken = reinterpret_cast<const char *>(input.data());
        check(r.consumed >= 2 && taken[r.consumed - 1] == '\n'
              && (taken[r.consumed - 2] == '\n' || (r.consumed >= 3 && taken[r.consumed - 2] == '\r'
                                                    && taken[r.consumed - 3] == '\n')));
        const Request &req = chunked.request();
        check(req.method == "GET" && !req.host.empty() && req.key.size() == 24 && !req.path.empty()
              && req.path.front() == '/');
        check(req.headers.size() <= limits.maxHeaderCount);
        check(req.value("sec-websocket-key") == std::optional<std::string_view>(req.key));
        const Request &other = whole.request();
        check(other.target == req.target && other.headers.size() == req.headers.size()
              && other.subprotocols == req.subprotocols && other.extensions.size() == req.extensions.size());
        const std::string subprotocol = req.subprotocols.empty() ? std::string() : req.subprotocols.front();
        const std::string response = buildAcceptResponse({.key = req.key, .subprotocol = subprotocol,
                                                          .serverName = req.host});
        check(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n") && response.ends_with("\r\n\r\n"));
        check(response.find("\r\n\r\n") == response.size() - 4); // no header value broke a line
        break;
    }
    case Status::Failed: {
        const int status = httpStatusFor(r.error);
        check(status != 0);
        check(r.consumed <= input.size());
        const std::string response = buildErrorResponse(r.error);
        check(response.starts_with("HTTP/1.1 " + std::to_string(status) + " "));
        check(response.find("Connection: close\r\n") != std::string::npos);
        break;
    }
    default:
        __builtin_trap();
    }
    return 0;
}
