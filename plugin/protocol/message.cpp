// SPDX-License-Identifier: BSD-3-Clause
// MessageAssembler: RFC 6455 §5.2–§5.5 frame sequencing, §8.1 UTF-8 validation, RFC 7692 decompression.
#include "message.h"

#include "mask.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace qws::protocol {

namespace {

// Compressed bytes of a long frame are handed to zlib in pieces of about this size, so a large
// compressed frame is neither buffered whole nor expanded past the message limit before we notice.
constexpr std::size_t kInflatePiece = 64 * 1024;

std::span<const std::byte> asBytes(const std::string &s, std::size_t from = 0) noexcept
{
    return {reinterpret_cast<const std::byte *>(s.data()) + from, s.size() - from};
}

// Appends `size` payload bytes to `out`, unmasking them on the way (RFC 6455 §5.3): this is the only
// copy a payload byte sees on its way to an event. Returns the mask phase for the next piece.
std::size_t appendUnmasked(std::string &out, const std::byte *src, std::size_t size, const FrameHeader &frame,
                           std::size_t phase)
{
    if (!frame.masked) {
        out.append(reinterpret_cast<const char *>(src), size);
        return phase;
    }
    const std::size_t old = out.size();
#if defined(__cpp_lib_string_resize_and_overwrite)
    std::size_t next = phase;
    // Return the size we asked for, not the callback's n: libstdc++ 12 passes the grown capacity as n
    // when it reallocates (fixed in GCC 12.3), which would append uninitialised bytes.
    out.resize_and_overwrite(old + size, [&](char *p, std::size_t) {
        next = applyMaskCopy(reinterpret_cast<std::byte *>(p + old), src, size, frame.mask, phase);
        return old + size;
    });
    return next;
#else
    // C++20 has no uninitialised append: the zero fill touches bytes that are overwritten at once,
    // while they are in cache; the payload itself is still copied exactly once.
    out.resize(old + size);
    return applyMaskCopy(reinterpret_cast<std::byte *>(out.data() + old), src, size, frame.mask, phase);
#endif
}

// Writes `size` payload bytes to `dst` (storage of the receiver's), unmasking them on the way.
std::size_t unmaskInto(std::byte *dst, const std::byte *src, std::size_t size, const FrameHeader &frame,
                       std::size_t phase)
{
    if (!frame.masked) {
        std::memcpy(dst, src, size);
        return phase;
    }
    return applyMaskCopy(dst, src, size, frame.mask, phase);
}

// Grows geometrically so that many small fragments do not copy the message over and over, but takes
// exactly what a single large frame announces (no 2x overshoot for the common one-frame message).
void reserveFor(std::string &s, std::uint64_t needed)
{
    if (needed <= s.capacity())
        return;
    s.reserve(static_cast<std::size_t>(std::max<std::uint64_t>(needed, std::uint64_t(s.capacity()) * 2)));
}

} // namespace

MessageAssembler::MessageAssembler(MessageLimits limits, bool requireMask)
    : m_limits(limits)
{
    m_rules.requireMask = requireMask;
    m_rules.allowRsv1 = false;
    m_rules.maxPayload = limits.maxFrameSize;
}

void MessageAssembler::setInflater(Inflater *inflater) noexcept
{
    m_inflater = inflater;
    m_rules.allowRsv1 = inflater != nullptr;   // RFC 7692 §6: RSV1 means "compressed" only once negotiated
}

namespace {
/// A Message event built where it lies in `out`: pushing a temporary Message costs a move of the
/// variant and the temporary's destruction (~110 instructions per 64-byte message, callgrind).
[[gnu::always_inline]] inline Message &emplaceMessage(std::vector<Event> &out, Opcode opcode)
{
    auto &message = std::get<Message>(out.emplace_back(std::in_place_type<Message>));
    message.opcode = opcode;
    return message;
}
} // namespace

bool MessageAssembler::fail(Error error, std::vector<Event> &out)
{
    m_error = error;
    m_external.reset();   // the receiver's storage goes back with the failed message
    out.emplace_back(std::in_place_type<Failure>, Failure{error});
    return false;
}

std::size_t MessageAssembler::feed(std::span<const std::byte> in, std::vector<Event> &out, ReceiveScratch *scratch)
{
    if (m_error != Error::None || m_closed)
        return 0;
    m_scratch = scratch;
    struct Forget {
        ReceiveScratch *&scratch;
        ~Forget() { scratch = nullptr; }
    } forget{m_scratch};
    std::size_t pos = 0;
    while (pos < in.size() && !m_closed) {
        if (!m_haveHeader && m_headerHave == 0 && !m_inMessage) {
            if (const std::size_t taken = takeSmallMessage(in.subspan(pos), out)) {
                pos += taken;
                if (m_error != Error::None)
                    return pos;
                continue;
            }
        }
        if (!m_haveHeader) {
            const std::size_t used = readHeader(in.subspan(pos));
            if (m_error != Error::None) {
                fail(m_error, out);
                return pos;
            }
            pos += used;
            if (!m_haveHeader)
                break;   // a header prefix is kept in m_headerBuf
            if (!startFrame(out, in.subspan(pos)))
                return pos;
            if (m_frameRemaining == 0 && !endFrame(out))
                return pos;
            continue;
        }
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size() - pos, m_frameRemaining));
        const bool ok = takePayload(in.subspan(pos, n), out);
        pos += n;
        m_frameRemaining -= n;
        if (!ok)
            return pos;
        if (m_frameRemaining == 0 && !endFrame(out))
            return pos;
    }
    return pos;
}

std::span<std::byte> MessageAssembler::payloadSink() const noexcept
{
    if (m_error != Error::None || !m_haveHeader || !m_external || m_externalInPlace || m_frameRemaining == 0)
        return {};
    // An external message is one uncompressed binary frame, so the frame's rest is the message's rest.
    return m_external->bytes.subspan(m_externalHave, static_cast<std::size_t>(m_frameRemaining));
}

void MessageAssembler::feedInPlace(std::size_t n, std::vector<Event> &out, ReceiveScratch *scratch)
{
    const std::span<std::byte> sink = payloadSink();
    assert(n <= sink.size());
    n = std::min(n, sink.size());
    if (n == 0)
        return;
    m_scratch = scratch;
    if (m_frame.masked)
        m_maskPhase = applyMask(sink.first(n), m_frame.mask, m_maskPhase);
    m_externalHave += n;
    m_frameRemaining -= n;
    if (m_frameRemaining == 0)
        endFrame(out);
    m_scratch = nullptr;
}

// Returns the bytes of `in` that belong to the header; sets m_haveHeader once it is complete and
// m_error (without an event) when it breaks a header rule.
std::size_t MessageAssembler::readHeader(std::span<const std::byte> in)
{
    if (m_headerHave == 0) {
        // Fast path: the whole header is in this read, parse it where it lies.
        const HeaderParse r = parseFrameHeader(in, m_rules, m_frame);
        if (r.status == ParseStatus::Complete) {
            m_haveHeader = true;
            return m_frame.headerSize;
        }
        if (r.status == ParseStatus::Failed) {
            m_error = r.error;
            return 0;
        }
    }
    const std::size_t take = std::min(in.size(), m_headerBuf.size() - m_headerHave);
    std::memcpy(m_headerBuf.data() + m_headerHave, in.data(), take);
    const HeaderParse r = parseFrameHeader(std::span<const std::byte>(m_headerBuf.data(), m_headerHave + take),
                                           m_rules, m_frame);
    if (r.status == ParseStatus::Failed) {
        m_error = r.error;
        return 0;
    }
    if (r.status == ParseStatus::NeedMore) {
        m_headerHave += take;
        return take;
    }
    const std::size_t used = m_frame.headerSize - m_headerHave;
    m_headerHave = 0;
    m_haveHeader = true;
    return used;
}

// m_message emptied for a new message of `size` bytes (at least its first frame's). The previous
// message's buffer went out with its event: a spare one with room is taken when there is one.
void MessageAssembler::startMessageBuffer(std::uint64_t size)
{
    m_message.clear();
    if (m_message.capacity() < size && m_scratch && !m_scratch->buffers.empty()) {
        m_message = std::move(m_scratch->buffers.back());
        m_scratch->buffers.pop_back();
        m_message.clear();
    }
}

// The usual client message in one step: final, masked, uncompressed, text or binary, under 126 bytes,
// whole in `in`, at a message boundary. What readHeader() → startFrame() → takePayload() → endFrame()
// would do with it, without their per-frame state: the same checks (a frame any of them would refuse
// is left to them: they report it), the same payload buffer (m_message, from the scratch's spares),
// the same event. In input the receiver declared writable, the payload is unmasked where it lies and
// the event views it (Message::inPlace): no buffer, no copy.
std::size_t MessageAssembler::takeSmallMessage(std::span<const std::byte> in, std::vector<Event> &out)
{
    constexpr std::size_t kHeader = 6;   // 2 bytes, 7-bit length, 4-byte mask
    if (in.size() < kHeader || m_limits.deliverFragments)
        return 0;
    const auto b0 = static_cast<std::uint8_t>(in[0]);
    const auto b1 = static_cast<std::uint8_t>(in[1]);
    if ((b0 != 0x81 && b0 != 0x82) || !(b1 & 0x80))   // FIN, no RSV bit, Text or Binary; masked
        return 0;
    const std::size_t size = b1 & 0x7f;
    if (size >= 126 || in.size() - kHeader < size || size > m_limits.maxFrameSize || size > m_limits.maxMessageSize)
        return 0;
    const bool text = b0 == 0x81;
    if (!text && m_scratch && m_scratch->allocator && size >= m_scratch->externalMin)
        return 0;   // the receiver's storage: startFrame()'s placeExternal()
    const std::array<std::uint8_t, 4> mask{static_cast<std::uint8_t>(in[2]), static_cast<std::uint8_t>(in[3]),
                                           static_cast<std::uint8_t>(in[4]), static_cast<std::uint8_t>(in[5])};
    const Opcode opcode = text ? Opcode::Text : Opcode::Binary;
    if (m_scratch && m_scratch->inputWritable) {
        // The receiver's own writable input: unmasked where it lies, delivered as a view of it.
        const std::span<std::byte> bytes(const_cast<std::byte *>(in.data()) + kHeader, size);
        const bool ascii = applyMaskAscii(bytes, mask);   // ASCII is valid UTF-8: no second pass
        const std::string_view view(reinterpret_cast<const char *>(bytes.data()), size);
        if (text && !ascii && !isValidUtf8(view)) {
            applyMask(bytes, mask, 0);   // masked again: the core writes only in what it delivers
            m_inMessage = true;
            fail(Error::InvalidUtf8, out);
            return kHeader + size;
        }
        emplaceMessage(out, opcode).inPlace = view;
        return kHeader + size;
    }
    startMessageBuffer(size);
    m_message.resize(size);
    applyMaskCopy(reinterpret_cast<std::byte *>(m_message.data()), in.data() + kHeader, size, mask, 0);
    if (text && !isValidUtf8(std::string_view(m_message))) {
        m_inMessage = true;   // as startFrame() leaves it when takePayload() fails
        fail(Error::InvalidUtf8, out);
        return kHeader + size;
    }
    emplaceMessage(out, opcode).payload = std::move(m_message);
    m_message.clear();
    return kHeader + size;
}

// The sequencing rules of RFC 6455 §5.4 and RFC 7692 §6.1, checked as soon as a header is complete so
// that a bad or oversized frame fails before its payload arrives.
bool MessageAssembler::startFrame(std::vector<Event> &out, std::span<const std::byte> rest)
{
    const Opcode op = m_frame.opcode;
    m_frameRemaining = m_frame.payloadLength;
    m_maskPhase = 0;
    if (isControl(op)) {
        // §5.5: control frames may sit between the fragments of a message; they leave it untouched.
        m_control.clear();
        return true;
    }
    if (op == Opcode::Continuation) {
        if (!m_inMessage)
            return fail(Error::UnexpectedContinuation, out);
        if (m_frame.rsv1)
            return fail(Error::CompressedContinuation, out);
    } else {
        if (m_inMessage)
            return fail(Error::ExpectedContinuation, out);
        m_inMessage = true;
        m_messageOpcode = op;
        m_messageCompressed = m_frame.rsv1;
        m_fragmentFirst = true;
        m_messageSize = 0;
        startMessageBuffer(m_frame.payloadLength);
        m_utf8.reset();
    }
    if (m_limits.deliverFragments)
        m_message.clear();   // in fragment mode m_message holds one frame's payload
    if (m_messageCompressed) {
        m_compressed.clear();
        m_compressed.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(m_frame.payloadLength, kInflatePiece)));
        return true;
    }
    // Uncompressed: the final size is known now. Refuse before reading a byte of it (fail fast).
    if (m_frame.payloadLength > m_limits.maxMessageSize - m_messageSize)
        return fail(Error::MessageTooBig, out);
    m_messageSize += m_frame.payloadLength;
    // A large binary message in one frame goes straight into the receiver's storage, if it has some.
    if (op == Opcode::Binary && m_frame.fin && !m_limits.deliverFragments && m_scratch && m_scratch->allocator
        && m_frame.payloadLength >= m_scratch->externalMin && placeExternal(rest))
        return true;
    reserveFor(m_message, m_message.size() + m_frame.payloadLength);
    return true;
}

// Where a large one-frame binary message goes: left in the input when it lies there whole and the
// receiver adopts it (no copy), else into storage of the receiver's. False: the usual std::string.
bool MessageAssembler::placeExternal(std::span<const std::byte> rest)
{
    const auto size = static_cast<std::size_t>(m_frame.payloadLength);
    m_externalHave = 0;
    if (m_scratch->inputWritable && rest.size() >= size) {
        // The receiver declared the input its own writable storage (ReceiveScratch::inputWritable).
        const std::span<std::byte> bytes(const_cast<std::byte *>(rest.data()), size);
        m_external = m_scratch->allocator->adopt(bytes);
        if (m_external && m_external->bytes.data() == bytes.data() && m_external->bytes.size() == size) {
            m_externalInPlace = true;
            return true;
        }
    }
    m_externalInPlace = false;
    m_external = m_scratch->allocator->allocate(size);
    if (m_external && m_external->bytes.size() == size)
        return true;
    m_external.reset();   // declined (or the wrong size): the usual way
    return false;
}

bool MessageAssembler::takePayload(std::span<const std::byte> chunk, std::vector<Event> &out)
{
    if (isControl(m_frame.opcode)) {
        m_maskPhase = appendUnmasked(m_control, chunk.data(), chunk.size(), m_frame, m_maskPhase);
        return true;
    }
    if (m_external && m_externalInPlace) {
        // The whole payload, where the receiver adopted it: unmasked in place, copied never.
        assert(chunk.data() == m_external->bytes.data() + m_externalHave);
        if (m_frame.masked)
            m_maskPhase = applyMask(m_external->bytes.subspan(m_externalHave, chunk.size()), m_frame.mask, m_maskPhase);
        m_externalHave += chunk.size();
        return true;
    }
    if (m_external) {
        m_maskPhase = unmaskInto(m_external->bytes.data() + m_externalHave, chunk.data(), chunk.size(), m_frame,
                                 m_maskPhase);
        m_externalHave += chunk.size();
        return true;   // binary: nothing to validate
    }
    if (!m_messageCompressed) {
        const std::size_t old = m_message.size();
        m_maskPhase = appendUnmasked(m_message, chunk.data(), chunk.size(), m_frame, m_maskPhase);
        return validateText(old, out);
    }
    m_maskPhase = appendUnmasked(m_compressed, chunk.data(), chunk.size(), m_frame, m_maskPhase);
    // Inflate long frames piecewise; the frame's last piece is inflated by endFrame().
    if (m_compressed.size() >= kInflatePiece && m_frameRemaining > chunk.size())
        return inflatePending(false, out);
    return true;
}

// §8.1: a text message fails at the first byte that cannot be UTF-8, even mid-frame. A code point
// left open at the end of a fragment is fine; only the message's end requires finish().
bool MessageAssembler::validateText(std::size_t from, std::vector<Event> &out)
{
    if (m_messageOpcode != Opcode::Text)
        return true;
    if (!m_utf8.write(asBytes(m_message, from)))
        return fail(Error::InvalidUtf8, out);
    return true;
}

bool MessageAssembler::inflatePending(bool last, std::vector<Event> &out)
{
    if (!m_inflater)
        return fail(Error::InflateFailed, out);   // unreachable: RSV1 is refused without an inflater
    const std::size_t old = m_message.size();
    // m_messageSize counts inflated bytes of the whole message; only what is left of the budget may
    // be produced, so a zip bomb stops at the limit instead of being expanded.
    const std::uint64_t budget = m_limits.maxMessageSize - m_messageSize;
    const Error e = m_inflater->inflate(asBytes(m_compressed), last, m_message,
                                        static_cast<std::size_t>(std::min<std::uint64_t>(budget, SIZE_MAX)));
    m_compressed.clear();
    m_messageSize += m_message.size() - old;
    if (e != Error::None)
        return fail(e, out);
    if (m_messageSize > m_limits.maxMessageSize)
        return fail(Error::MessageTooBig, out);   // belt and braces: never hand out more than the limit
    return validateText(old, out);
}

bool MessageAssembler::endFrame(std::vector<Event> &out)
{
    m_haveHeader = false;
    switch (m_frame.opcode) {
    case Opcode::Ping:
        out.push_back(Ping{m_control});   // ≤ 125 bytes; m_control keeps its capacity
        return true;
    case Opcode::Pong:
        out.push_back(Pong{m_control});
        return true;
    case Opcode::Close: {
        Close close;
        const Error e = parseClosePayload(asBytes(m_control), close);
        if (e != Error::None)
            return fail(e, out);
        out.push_back(std::move(close));
        m_closed = true;
        return true;
    }
    default:
        break;
    }

    const bool fin = m_frame.fin;
    if (m_messageCompressed && !inflatePending(fin, out))
        return false;
    if (fin && m_messageOpcode == Opcode::Text && !m_utf8.finish())
        return fail(Error::InvalidUtf8, out);   // the message ended inside a code point
    if (m_limits.deliverFragments) {
        out.push_back(Fragment{m_messageOpcode, std::move(m_message), m_fragmentFirst, fin});
        m_message.clear();
        m_fragmentFirst = false;
    } else if (fin && m_external) {
        emplaceMessage(out, m_messageOpcode).external = std::move(m_external);
    } else if (fin) {
        Message &message = emplaceMessage(out, m_messageOpcode);
        message.payload = std::move(m_message);
        message.compressed = m_messageCompressed;
        m_message.clear();
    }
    if (fin)
        m_inMessage = false;
    return true;
}

} // namespace qws::protocol
