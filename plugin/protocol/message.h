// SPDX-License-Identifier: BSD-3-Clause
// Frames → messages: RFC 6455 §5.4 fragmentation, §5.5 interleaved control frames, size limits,
// UTF-8 validation of text (§8.1) and permessage-deflate decompression (RFC 7692).
#pragma once

#include "close.h"
#include "deflate.h"
#include "errors.h"
#include "events.h"
#include "frame.h"
#include "utf8.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qws::protocol {

/// Provides storage for large binary messages (see ExternalPayload and ReceiveScratch::allocator).
class PayloadAllocator {
public:
    /// Storage of exactly `size` bytes for a binary message arriving as one uncompressed frame, or
    /// nullptr to let the core assemble it in a std::string as usual.
    virtual std::shared_ptr<ExternalPayload> allocate(std::size_t size) = 0;
    /// Zero copy, offered only while ReceiveScratch::inputWritable is set: such a message lies whole in
    /// the input of the current receive(), at `bytes` (still masked). Return storage whose `bytes` are
    /// exactly these (the core unmasks them in place) and that keeps them alive, or nullptr to have
    /// allocate() asked as usual.
    virtual std::shared_ptr<ExternalPayload> adopt(std::span<std::byte> bytes)
    {
        (void)bytes;
        return nullptr;
    }

protected:
    ~PayloadAllocator() = default;
};

struct ReceiveScratch;

struct MessageLimits {
    std::uint64_t maxFrameSize = UINT64_C(64) * 1024 * 1024;   ///< → FrameTooBig (1009)
    std::uint64_t maxMessageSize = UINT64_C(64) * 1024 * 1024; ///< after decompression → MessageTooBig (1009)
    bool deliverFragments = false;  ///< true: a Fragment event per data frame; false: whole Messages
};

/// Parses client frames from a byte stream and assembles them into events. It unmasks, validates and
/// decompresses; it does not answer pings or closes (ServerConnection does).
class MessageAssembler {
public:
    explicit MessageAssembler(MessageLimits limits = {}, bool requireMask = true);

    /// Enables permessage-deflate (RSV1 allowed on a message's first frame). `inflater` must outlive
    /// this object; nullptr disables.
    void setInflater(Inflater *inflater) noexcept;

    /// Consumes `in` entirely (partial headers and payloads are kept inside) unless it fails, appending
    /// Message/Fragment/Ping/Pong/Close events to `out`. On failure it appends one Failure event, stops
    /// consuming, and every later call returns 0. After a Close event it stops too (RFC 6455 §5.5.1:
    /// what follows a close frame is not application data): the rest is neither parsed nor written.
    /// Returns the number of bytes consumed.
    /// `scratch`, when given, supplies the storage of each new message's payload (a spare buffer with
    /// capacity, or the allocator's storage for a large binary message) instead of a fresh allocation.
    std::size_t feed(std::span<const std::byte> in, std::vector<Event> &out, ReceiveScratch *scratch = nullptr);

    /// Where the next payload bytes of the current message may be read straight into: the rest of a
    /// large binary message's frame in storage from ReceiveScratch::allocator (not an adopted one).
    /// Empty otherwise. See feedInPlace().
    std::span<std::byte> payloadSink() const noexcept;
    /// `n` bytes (at most payloadSink().size()) were written at payloadSink(): the same as feed() of
    /// them, without their copy (they are unmasked where they are).
    void feedInPlace(std::size_t n, std::vector<Event> &out, ReceiveScratch *scratch = nullptr);

    Error error() const noexcept { return m_error; }
    bool inMessage() const noexcept { return m_inMessage; }
    /// Between frames of no message, not failed: a fresh assembler would behave the same from here
    /// (the connection frees this one until the next data arrives).
    bool atRest() const noexcept
    {
        return !m_haveHeader && m_headerHave == 0 && !m_inMessage && m_error == Error::None && !m_closed;
    }

private:
    // Steps of feed() (see message.cpp); the bool ones return false after recording a failure.
    /// A small whole message in one frame at the front of `in`: 0 when `in` does not start with one
    /// (the general steps below take it), else the bytes it took (its event, or a failure, is out).
    std::size_t takeSmallMessage(std::span<const std::byte> in, std::vector<Event> &out);
    void startMessageBuffer(std::uint64_t size);
    std::size_t readHeader(std::span<const std::byte> in);
    bool startFrame(std::vector<Event> &out, std::span<const std::byte> rest);
    bool placeExternal(std::span<const std::byte> rest);
    bool takePayload(std::span<const std::byte> chunk, std::vector<Event> &out);
    bool endFrame(std::vector<Event> &out);
    bool inflatePending(bool last, std::vector<Event> &out);
    bool validateText(std::size_t from, std::vector<Event> &out);
    bool fail(Error error, std::vector<Event> &out);

    // Implementation state (see message.cpp): partial header bytes, current frame, current message.
    MessageLimits m_limits;
    FrameRules m_rules;
    Inflater *m_inflater = nullptr;
    Error m_error = Error::None;
    bool m_closed = false;   // a Close event was delivered: nothing more is read

    std::array<std::byte, kMaxFrameHeaderSize> m_headerBuf{};
    std::size_t m_headerHave = 0;
    bool m_haveHeader = false;
    FrameHeader m_frame;
    std::uint64_t m_frameRemaining = 0;
    std::size_t m_maskPhase = 0;

    bool m_inMessage = false;
    Opcode m_messageOpcode = Opcode::Binary;
    bool m_messageCompressed = false;
    bool m_fragmentFirst = true;
    std::uint64_t m_messageSize = 0;     // bytes received for the current message (wire or inflated)
    std::string m_message;               // payload being assembled (inflated when compressed)
    std::string m_control;               // control frame payload being assembled
    std::string m_compressed;            // compressed bytes of the current frame before inflating
    std::shared_ptr<ExternalPayload> m_external;   // the current message's storage, when external
    std::size_t m_externalHave = 0;
    bool m_externalInPlace = false;                 // m_external's bytes are the input's (adopt())
    ReceiveScratch *m_scratch = nullptr;   // feed()'s scratch, during the call only
    Utf8Validator m_utf8;
};

/// What receive(data, scratch) reuses from one call to the next. One per thread that drives many
/// connections (the server's engine threads keep one each), so a steady stream of small messages
/// allocates nothing in the core: the events vector keeps its capacity, each message's payload takes
/// a spare buffer (give it back with recycle() once its bytes were used), and a connection that gets
/// data borrows the spare MessageAssembler instead of allocating one (and returns it when at rest).
/// With an `allocator`, binary messages of at least `externalMin` bytes that arrive as one
/// uncompressed frame are assembled in storage it provides (Message::external), or, with
/// `inputWritable`, left where they lie in the input (PayloadAllocator::adopt()).
struct ReceiveScratch {
    /// receive(data, scratch) appends its events here, in order; the caller consumes and clears it.
    std::vector<Event> events;
    /// Spare payload buffers (taken from the back).
    std::vector<std::string> buffers;
    std::unique_ptr<MessageAssembler> assembler;
    PayloadAllocator *allocator = nullptr;
    std::size_t externalMin = 4096;
    /// Set by a receiver whose receive() input is its own writable storage that adopt()ed payloads
    /// may keep alive: such messages lying whole in the input are unmasked where they lie and handed
    /// to allocator->adopt() instead of being copied. Small whole messages (the one-step path, under
    /// 126 bytes) are unmasked where they lie too and delivered as Message::inPlace, a view into the
    /// input, valid until the input is reused. The core writes only inside payloads it delivers.
    bool inputWritable = false;

    /// Keeps `buffer` for a later message if it is small and fewer than kMaxBuffers wait.
    void recycle(std::string &&buffer)
    {
        // A string with no heap storage (its inline capacity only) is no spare.
        if (buffer.capacity() <= kInlineCapacity || buffer.capacity() > kMaxRecycledCapacity
            || buffers.size() >= kMaxBuffers)
            return;
        buffers.push_back(std::move(buffer));
    }
    static constexpr std::size_t kMaxBuffers = 64;
    static inline const std::size_t kInlineCapacity = std::string().capacity();
    static constexpr std::size_t kMaxRecycledCapacity = 64 * 1024;
};

} // namespace qws::protocol
