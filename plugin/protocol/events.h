// SPDX-License-Identifier: BSD-3-Clause
// The core's event vocabulary, the same types in both directions (model: wsproto events).
#pragma once

#include "errors.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace qws::protocol {

/// RFC 6455 §5.2 opcodes.
enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

constexpr bool isControl(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

/// Storage for one message's payload that the receiver provided (a PayloadAllocator, see
/// ReceiveScratch): a large binary message is unmasked straight into the receiver's own buffer, so its
/// bytes are copied once on their way from the socket to the application. The receiver subclasses it
/// (the server holds a QByteArray); the core only writes `bytes`.
struct ExternalPayload {
    virtual ~ExternalPayload() = default;
    std::span<std::byte> bytes;
};

/// A whole text message (UTF-8 validated) or binary message, after decompression.
struct Message {
    Opcode opcode = Opcode::Binary;   ///< Text or Binary
    std::string payload;
    bool compressed = false;          ///< arrived with permessage-deflate
    /// Set instead of `payload` (then empty) when the bytes went into receiver-provided storage.
    std::shared_ptr<ExternalPayload> external;
    /// Set instead of `payload` (then empty) when a small message was unmasked where it lay, in input
    /// the receiver declared writable (ReceiveScratch::inputWritable). Valid only until that input is
    /// reused: the receiver consumes such events before it reads again.
    std::string_view inPlace;

    /// The payload, wherever it is kept.
    std::string_view bytes() const noexcept
    {
        if (external)
            return {reinterpret_cast<const char *>(external->bytes.data()), external->bytes.size()};
        return inPlace.empty() ? std::string_view(payload) : inPlace;
    }
};

/// One piece of a message, when the connection delivers frame by frame (Config::deliverFragments).
/// Text fragments are validated: a fragment may end inside a code point that the next one completes.
struct Fragment {
    Opcode opcode = Opcode::Binary;   ///< the message's opcode (Text or Binary), also for continuations
    std::string payload;
    bool first = false;
    bool last = false;
};

struct Pong;

/// A ping received, or one to send. It knows its pong.
struct Ping {
    std::string payload;              ///< ≤ 125 bytes
    Pong reply() const;
};

struct Pong {
    std::string payload;
};

inline Pong Ping::reply() const { return Pong{payload}; }

/// A close frame received (code 1005 NoStatus when it had no payload).
struct Close {
    std::uint16_t code = static_cast<std::uint16_t>(CloseCode::NoStatus);
    std::string reason;
};

/// The connection failed: the core has queued a close frame with closeCodeFor(error) (or an HTTP error
/// response during the handshake) and will accept no more input. The server should flush and close TCP.
struct Failure {
    Error error = Error::None;
};

using Event = std::variant<Message, Fragment, Ping, Pong, Close, Failure>;

} // namespace qws::protocol
