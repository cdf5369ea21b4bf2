// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer: Inflater on any bytes (bounded output, documented errors only) and Deflater→Inflater identity.
#include <protocol/deflate.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace qws::protocol;

namespace {

std::span<const std::byte> asBytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

// Feeds one message to `inf` in pieces of `piece` bytes (the fuzzer's split points), optionally
// ending with an empty "last" piece. Returns the first error.
Error inflateMessage(Inflater &inf, std::string_view msg, std::size_t piece, bool emptyLast, std::string &out,
                     std::size_t cap)
{
    std::size_t at = 0;
    do {
        const std::string_view p = msg.substr(at, piece);
        at += p.size();
        const bool last = at >= msg.size() && !emptyLast;
        const std::size_t before = out.size();
        const Error e = inf.inflate(asBytes(p), last, out, cap - std::min(cap, out.size()));
        if (out.size() - before > cap)   // one call never appends more than it was allowed
            __builtin_trap();
        if (e != Error::None)
            return e;
    } while (at < msg.size());
    return emptyLast ? inf.inflate({}, true, out, cap - std::min(cap, out.size())) : Error::None;
}

} // namespace

// Input: 4 control bytes, then messages as [length byte][bytes...] until the input ends.
//   byte 0: bits 0–2 → window bits 8–15, bit 3 → no context takeover, bit 4 → empty last piece
//   byte 1: output cap 2^(b % 21) bytes (1 B – 1 MiB)
//   byte 2: piece size 1 + b * 4 (1–1021 bytes)
//   byte 3: compression level 1 + b % 9
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size < 4)
        return 0;
    const int bits = 8 + (data[0] & 7);
    const bool noContextTakeover = (data[0] & 8) != 0;
    const bool emptyLast = (data[0] & 16) != 0;
    const std::size_t cap = std::size_t(1) << (data[1] % 21);
    const std::size_t piece = 1 + std::size_t(data[2]) * 4;
    const int level = 1 + data[3] % 9;

    std::vector<std::string_view> messages;
    const std::string_view rest(reinterpret_cast<const char *>(data) + 4, size - 4);
    for (std::size_t at = 0; at < rest.size();) {
        const std::size_t len = static_cast<unsigned char>(rest[at++]);
        messages.push_back(rest.substr(at, len));
        at += messages.back().size();
    }

    // 1. Arbitrary bytes as compressed messages: None, MessageTooBig or InflateFailed, output within
    //    the cap, and the inflater keeps going after an error.
    {
        Inflater inf(bits, noContextTakeover);
        for (std::string_view m : messages) {
            std::string out;
            const Error e = inflateMessage(inf, m, piece, emptyLast, out, cap);
            if (e != Error::None && e != Error::MessageTooBig && e != Error::InflateFailed)
                __builtin_trap();
            if (out.size() > cap)
                __builtin_trap();
        }
    }

    // 2. The same bytes as plain messages: what we compress inflates back exactly, within a cap of
    //    exactly the message size, whatever the split points.
    {
        Deflater def(bits, noContextTakeover, level);
        Inflater inf(bits, noContextTakeover);
        for (std::string_view m : messages) {
            std::string z;
            def.deflate(asBytes(m), z);
            std::string out;
            if (inflateMessage(inf, z, piece, emptyLast, out, m.size()) != Error::None || out != m)
                __builtin_trap();
        }
    }
    return 0;
}
