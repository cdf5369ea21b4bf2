// SPDX-License-Identifier: BSD-3-Clause
// Split-anything helpers: feed an input whole, at every split point, and one byte at a time, so that
// each incremental parser is shown to give the same result whatever way its input is chunked.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qws::test {

inline std::span<const std::byte> bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

/// A byte string spelled as numbers: hex({0x81, 0x85}) == "\x81\x85".
inline std::string hex(std::initializer_list<int> bytes)
{
    std::string s;
    for (int b : bytes)
        s.push_back(static_cast<char>(b));
    return s;
}

/// A way of cutting an input into consecutive chunks.
struct Chunking {
    std::string name;                    ///< "whole", "split at 17", "1-byte chunks"
    std::vector<std::string_view> chunks;
};

/// Every chunking of `input` worth testing: whole, each single split point (two chunks), 1-byte chunks.
/// Inputs over `maxSplitPoints` bytes get split points spread evenly instead of all of them.
inline std::vector<Chunking> allChunkings(std::string_view input, std::size_t maxSplitPoints = 4096)
{
    std::vector<Chunking> out;
    out.push_back({"whole", {input}});
    const std::size_t n = input.size();
    const std::size_t step = n > maxSplitPoints ? n / maxSplitPoints : 1;
    for (std::size_t at = 1; at < n; at += step)
        out.push_back({"split at " + std::to_string(at), {input.substr(0, at), input.substr(at)}});
    Chunking ones{"1-byte chunks", {}};
    for (std::size_t i = 0; i < n; ++i)
        ones.chunks.push_back(input.substr(i, 1));
    if (n > 1)
        out.push_back(std::move(ones));
    return out;
}

} // namespace qws::test
