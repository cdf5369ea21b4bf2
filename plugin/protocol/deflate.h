// SPDX-License-Identifier: BSD-3-Clause
// RFC 7692 permessage-deflate: negotiation (a pure function) and zlib compression with limits.
#pragma once

#include "errors.h"
#include "extensions.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qws::protocol {

/// What the server is willing to do.
struct DeflateOptions {
    bool enabled = true;
    int serverMaxWindowBits = 15;        ///< 8–15 (zlib cannot deflate with 8; 9 is used then)
    int clientMaxWindowBits = 15;        ///< the most we accept from the client when it allows a value
    bool serverNoContextTakeover = false;///< force it even when the client did not ask
    bool clientNoContextTakeover = false;///< ask the client for it (saves our inflate memory)
    int compressionLevel = 6;            ///< zlib level 1–9
    std::size_t minMessageSize = 64;     ///< smaller messages are sent uncompressed (RSV1 clear)
};

/// The agreed parameters of one connection.
struct DeflateParams {
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int serverMaxWindowBits = 15;
    int clientMaxWindowBits = 15;
    /// The client offered server_max_window_bits: RFC 7692 §7.1.2.1 requires it in the response, even at 15.
    bool serverMaxWindowBitsOffered = false;
};

/// RFC 7692 §5, §7.1: walks `offers` in the client's preference order, skipping other extensions and
/// permessage-deflate offers with unknown, duplicated or out-of-range parameters; returns the
/// parameters of the first acceptable one, or nullopt (decline: no extension in the response).
std::optional<DeflateParams> negotiateDeflate(std::span<const ExtensionOffer> offers,
                                              const DeflateOptions &options);

/// The Sec-WebSocket-Extensions response value for `params`, e.g.
/// "permessage-deflate; server_no_context_takeover; client_max_window_bits=12".
std::string formatDeflateResponse(const DeflateParams &params);

/// Decompresses client messages (RFC 7692 §7.2.2).
class Inflater {
public:
    Inflater(int windowBits, bool noContextTakeover);
    ~Inflater();
    Inflater(const Inflater &) = delete;
    Inflater &operator=(const Inflater &) = delete;

    /// Inflates one piece of a compressed message, appending to `out`. On the message's last piece
    /// pass `last = true` (the 00 00 FF FF tail is added here). Stops with MessageTooBig as soon as
    /// this call would append more than `maxOutput` bytes to `out` (the bomb is never fully
    /// expanded: out grows by at most maxOutput, work stops within 16 KiB of output past it),
    /// InflateFailed on corrupt data or on a message that ends inside a DEFLATE block. An empty
    /// message (no bytes at all) inflates to nothing. Resets the context after the last piece when
    /// no context takeover applies. After an error the context is reset.
    Error inflate(std::span<const std::byte> in, bool last, std::string &out, std::size_t maxOutput);

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

/// Compresses server messages (RFC 7692 §7.2.1).
class Deflater {
public:
    Deflater(int windowBits, bool noContextTakeover, int level);
    ~Deflater();
    Deflater(const Deflater &) = delete;
    Deflater &operator=(const Deflater &) = delete;

    /// Compresses a whole message and appends it to `out` without the trailing 00 00 FF FF.
    void deflate(std::span<const std::byte> message, std::string &out);

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace qws::protocol
