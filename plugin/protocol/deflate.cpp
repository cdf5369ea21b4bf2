// SPDX-License-Identifier: BSD-3-Clause
// RFC 7692 permessage-deflate: offer negotiation, and raw DEFLATE over zlib with a hard output cap.
#define ZLIB_CONST
#include "deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string_view>

namespace qws::protocol {

namespace {

constexpr std::string_view kExtensionName = "permessage-deflate";

// RFC 7692 §7.2.2: what a sender strips from the end of each message, and the receiver puts back.
constexpr std::array<unsigned char, 4> kTail = {0x00, 0x00, 0xff, 0xff};

// Inflate produces output in steps of at most this many bytes, so a message over its cap is caught
// after at most one step, whatever the compression ratio (deflate reaches about 1032:1).
constexpr std::size_t kInflateStep = 16 * 1024;

// zlib counts in uInt; longer spans are fed in slices of this size.
constexpr std::size_t kMaxSlice = std::size_t(1) << 30;

int clampWindowBits(int bits) noexcept { return std::clamp(bits, 8, 15); }

// RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 and 15, inclusive".
// Returns 0 when `text` is not such a value. (The extension parser has already removed any quotes.)
int parseWindowBits(std::string_view text) noexcept
{
    if (text.empty() || text.size() > 2 || text.front() == '0')
        return 0;
    int v = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return 0;
        v = v * 10 + (c - '0');
    }
    return v >= 8 && v <= 15 ? v : 0;
}

// The parameters of one permessage-deflate offer, each seen at most once with a valid value.
struct Offer {
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int serverMaxWindowBits = 0;      // 0: not offered
    bool clientMaxWindowBits = false; // offered, with or without a value
    int clientMaxWindowBitsValue = 15;
};

// RFC 7692 §7.1: an offer with an unknown or duplicated parameter, or an invalid value, is declined.
std::optional<Offer> readOffer(const ExtensionOffer &offer)
{
    Offer o;
    bool seenServerNct = false, seenClientNct = false, seenServerBits = false, seenClientBits = false;
    for (const ExtensionParam &p : offer.params) {
        if (p.name == "server_no_context_takeover") {         // §7.1.1.1: no value
            if (seenServerNct || p.value)
                return std::nullopt;
            seenServerNct = o.serverNoContextTakeover = true;
        } else if (p.name == "client_no_context_takeover") {  // §7.1.1.2: no value
            if (seenClientNct || p.value)
                return std::nullopt;
            seenClientNct = o.clientNoContextTakeover = true;
        } else if (p.name == "server_max_window_bits") {      // §7.1.2.1: a value is required
            if (seenServerBits || !p.value)
                return std::nullopt;
            seenServerBits = true;
            o.serverMaxWindowBits = parseWindowBits(*p.value);
            if (o.serverMaxWindowBits == 0)
                return std::nullopt;
        } else if (p.name == "client_max_window_bits") {      // §7.1.2.2: the value is optional
            if (seenClientBits)
                return std::nullopt;
            seenClientBits = o.clientMaxWindowBits = true;
            if (p.value) {
                o.clientMaxWindowBitsValue = parseWindowBits(*p.value);
                if (o.clientMaxWindowBitsValue == 0)
                    return std::nullopt;
            }
        } else {
            return std::nullopt;
        }
    }
    return o;
}

} // namespace

std::optional<DeflateParams> negotiateDeflate(std::span<const ExtensionOffer> offers,
                                              const DeflateOptions &options)
{
    if (!options.enabled)
        return std::nullopt;
    const int serverLimit = clampWindowBits(options.serverMaxWindowBits);
    const int clientLimit = clampWindowBits(options.clientMaxWindowBits);

    for (const ExtensionOffer &offer : offers) {
        if (offer.name != kExtensionName)
            continue;
        const std::optional<Offer> o = readOffer(offer);
        if (!o)
            continue;
        // §7.1.2.2: without client_max_window_bits in the offer the client may not understand the
        // parameter, so we must not send it and the client compresses with up to 15 bits. If we
        // insist on a smaller client window, this offer is not acceptable.
        if (!o->clientMaxWindowBits && clientLimit < 15)
            continue;

        DeflateParams params;
        // §7.1.1.1: the server may add server_no_context_takeover even when not offered.
        params.serverNoContextTakeover = o->serverNoContextTakeover || options.serverNoContextTakeover;
        // §7.1.1.2: the server may add client_no_context_takeover; when offered, we honour it.
        params.clientNoContextTakeover = o->clientNoContextTakeover || options.clientNoContextTakeover;
        // §7.1.2.1: the response carries the same or a smaller value than the offer; without one in
        // the offer, the server may still announce the (smaller) window it will use.
        params.serverMaxWindowBits = o->serverMaxWindowBits != 0
                                         ? std::min(o->serverMaxWindowBits, serverLimit)
                                         : serverLimit;
        params.serverMaxWindowBitsOffered = o->serverMaxWindowBits != 0;
        // §7.1.2.2: answer the client's hint (15 when valueless) or our own limit, whichever is less.
        params.clientMaxWindowBits = o->clientMaxWindowBits
                                         ? std::min(o->clientMaxWindowBitsValue, clientLimit)
                                         : 15;
        return params;
    }
    return std::nullopt;
}

std::string formatDeflateResponse(const DeflateParams &params)
{
    std::string s(kExtensionName);
    if (params.serverNoContextTakeover)
        s += "; server_no_context_takeover";
    if (params.clientNoContextTakeover)
        s += "; client_no_context_takeover";
    // 15 is the default of both window parameters (§7.1.2), so it is left out — except that a server
    // accepts an offered server_max_window_bits "by including" it (§7.1.2.1). negotiateDeflate only
    // yields clientMaxWindowBits < 15 when the client offered the parameter.
    if (params.serverMaxWindowBits != 15 || params.serverMaxWindowBitsOffered)
        s += "; server_max_window_bits=" + std::to_string(clampWindowBits(params.serverMaxWindowBits));
    if (params.clientMaxWindowBits != 15)
        s += "; client_max_window_bits=" + std::to_string(clampWindowBits(params.clientMaxWindowBits));
    return s;
}

// ---------------------------------------------------------------------------------------------
// Inflater

struct Inflater::Impl {
    z_stream strm{};
    bool ready = false;             // inflateInit2 succeeded
    bool noContextTakeover = false;
    bool finalBlockSeen = false;    // a BFINAL block ended the DEFLATE data of this message
    bool messageHasData = false;    // some compressed bytes of this message were fed
    int windowBits = 15;

    // Runs `data` through inflate, appending to `out` while out.size() - start stays ≤ maxOutput.
    // `atBoundary` is left telling whether the decoder stopped between two DEFLATE blocks.
    Error run(const unsigned char *data, std::size_t size, int flush, std::string &out,
              std::size_t start, std::size_t maxOutput, bool &atBoundary);
    void endMessage();
};

Error Inflater::Impl::run(const unsigned char *data, std::size_t size, int flush, std::string &out,
                          std::size_t start, std::size_t maxOutput, bool &atBoundary)
{
    std::array<unsigned char, kInflateStep> step;
    while (size > 0) {
        const std::size_t slice = std::min(size, kMaxSlice);
        strm.next_in = data;
        strm.avail_in = static_cast<uInt>(slice);
        for (;;) {
            const std::size_t added = out.size() - start;
            const std::size_t room = maxOutput > added ? maxOutput - added : 0;
            // One byte more than the room left, so that "exactly at the cap" still succeeds and one
            // byte over is seen.
            const uInt want = static_cast<uInt>(room >= kInflateStep ? kInflateStep : room + 1);
            strm.next_out = step.data();
            strm.avail_out = want;
            const uInt inBefore = strm.avail_in;
            const int rc = ::inflate(&strm, flush);
            const std::size_t produced = want - strm.avail_out;
            if (produced > room)
                return Error::MessageTooBig;
            out.append(reinterpret_cast<const char *>(step.data()), produced);
            // zlib: data_type has 128 set when inflate stopped right after a block ended. A call that
            // made no progress would report its own (unhelpful) state, so only progress counts.
            if (produced > 0 || strm.avail_in != inBefore)
                atBoundary = (strm.data_type & 128) != 0;
            if (rc == Z_STREAM_END) {
                // RFC 7692 §7.2.3.4: a block with BFINAL set ends the DEFLATE data; what follows in
                // this message (at least the 0x00 the RFC shows, and our tail) is not inflated.
                finalBlockSeen = true;
                return Error::None;
            }
            if (rc == Z_BUF_ERROR && strm.avail_in == 0)
                break;   // no progress possible: all input used and all output delivered
            if (rc != Z_OK)
                return Error::InflateFailed;   // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, ...
            if (strm.avail_in == 0 && strm.avail_out != 0)
                break;
        }
        data += slice;
        size -= slice;
    }
    return Error::None;
}

void Inflater::Impl::endMessage()
{
    if (finalBlockSeen && !noContextTakeover) {
        // The next message starts a new DEFLATE stream but may still refer back into the window
        // (RFC 7692 §7.2.2 context takeover), so carry the window over as a preset dictionary.
        std::string window(std::size_t(1) << windowBits, '\0');
        uInt len = 0;
        inflateGetDictionary(&strm, reinterpret_cast<Bytef *>(window.data()), &len);
        inflateReset(&strm);
        inflateSetDictionary(&strm, reinterpret_cast<const Bytef *>(window.data()), len);
    } else if (finalBlockSeen || noContextTakeover) {
        inflateReset(&strm);
    }
    finalBlockSeen = false;
    messageHasData = false;
}

Inflater::Inflater(int windowBits, bool noContextTakeover)
    : d(std::make_unique<Impl>())
{
    d->windowBits = clampWindowBits(windowBits);
    d->noContextTakeover = noContextTakeover;
    // Negative windowBits: raw DEFLATE (RFC 1951), no zlib header or checksum (RFC 7692 §7.2).
    // The window is the negotiated client_max_window_bits, which bounds our memory. A client that
    // refers back into earlier data beyond it fails with InflateFailed ("invalid distance too far
    // back"); zlib does accept far distances that land in the output of the same inflate call.
    d->ready = inflateInit2(&d->strm, -d->windowBits) == Z_OK;
}

Inflater::~Inflater()
{
    if (d->ready)
        inflateEnd(&d->strm);
}

Error Inflater::inflate(std::span<const std::byte> in, bool last, std::string &out, std::size_t maxOutput)
{
    if (!d->ready)
        return Error::InflateFailed;
    const std::size_t start = out.size();   // maxOutput bounds what this call appends
    bool atBoundary = false;
    Error e = Error::None;
    d->messageHasData = d->messageHasData || !in.empty();
    if (!d->finalBlockSeen)
        e = d->run(reinterpret_cast<const unsigned char *>(in.data()), in.size(), Z_SYNC_FLUSH, out,
                   start, maxOutput, atBoundary);
    // A message with no compressed bytes at all is taken as empty: appending the tail would leave the
    // decoder inside a stored block (00 00 FF FF alone is an incomplete one). Senders that flush with
    // nothing new produce no bytes and stay aligned, so skipping the tail keeps both sides in step.
    if (e == Error::None && last && !d->finalBlockSeen && d->messageHasData) {
        // RFC 7692 §7.2.2: append 00 00 FF FF, an empty stored block. Z_BLOCK stops at its end, where
        // a well-formed message leaves the decoder between blocks. Anywhere else, the message was cut
        // inside a block or kept its tail (§7.2.1), and the next message would be garbage, so it is
        // refused. (DEFLATE has no checksum: a cut inside a Huffman block is caught only when the
        // tail does not happen to decode to the block's end.)
        atBoundary = false;
        e = d->run(kTail.data(), kTail.size(), Z_BLOCK, out, start, maxOutput, atBoundary);
        if (e == Error::None && !d->finalBlockSeen && (!atBoundary || d->strm.avail_in != 0))
            e = Error::InflateFailed;
    }
    if (e != Error::None) {
        // The connection fails on any error; still leave the object reusable and consistent.
        inflateReset(&d->strm);
        d->finalBlockSeen = false;
        d->messageHasData = false;
        return e;
    }
    if (last)
        d->endMessage();
    return Error::None;
}

// ---------------------------------------------------------------------------------------------
// Deflater

struct Deflater::Impl {
    z_stream strm{};
    bool ready = false;
    bool noContextTakeover = false;
};

Deflater::Deflater(int windowBits, bool noContextTakeover, int level)
    : d(std::make_unique<Impl>())
{
    // zlib (since 1.2.9) refuses windowBits 8 for raw deflate: its 256-byte window was broken.
    // Deflating with 9 is still safe for a peer that agreed to 8: zlib's deflate never emits a
    // distance beyond window size - 262 (MAX_DIST), i.e. 250 bytes for 9 bits, within 256.
    const int bits = std::max(9, clampWindowBits(windowBits));
    // memLevel sizes the hash table (2^(memLevel+7) entries); 8 suits a 32 KiB window, smaller
    // windows get a proportionally smaller table: bits 15 → 8, 12 → 5, 9 → 2. Memory per deflater is
    // about 2^(bits+2) + 2^(memLevel+9) bytes (256 KiB at 15 bits, 4 KiB at 9).
    const int memLevel = std::clamp(bits - 7, 1, 8);
    d->noContextTakeover = noContextTakeover;
    d->ready = deflateInit2(&d->strm, std::clamp(level, 1, 9), Z_DEFLATED, -bits, memLevel,
                            Z_DEFAULT_STRATEGY) == Z_OK;
}

Deflater::~Deflater()
{
    if (d->ready)
        deflateEnd(&d->strm);
}

void Deflater::deflate(std::span<const std::byte> message, std::string &out)
{
    const std::size_t start = out.size();
    if (d->ready) {
        const auto *data = reinterpret_cast<const unsigned char *>(message.data());
        std::size_t size = message.size();
        do {
            const std::size_t slice = std::min(size, kMaxSlice);
            d->strm.next_in = data;
            d->strm.avail_in = static_cast<uInt>(slice);
            // Only the last slice flushes; RFC 7692 §7.2.1 asks for a sync flush at message end.
            const int flush = slice == size ? Z_SYNC_FLUSH : Z_NO_FLUSH;
            std::size_t grow = deflateBound(&d->strm, static_cast<uLong>(slice)) + 16;
            for (;;) {
                const std::size_t used = out.size();
                out.resize(used + grow);
                d->strm.next_out = reinterpret_cast<Bytef *>(out.data() + used);
                d->strm.avail_out = static_cast<uInt>(grow);
                const int rc = ::deflate(&d->strm, flush);
                out.resize(out.size() - d->strm.avail_out);
                // Z_BUF_ERROR: nothing to do (an empty message right after a flush). Otherwise go
                // on while zlib filled all the space it was given: it may hold more output.
                if (rc != Z_OK || d->strm.avail_out != 0)
                    break;
                grow = kInflateStep;
            }
            data += slice;
            size -= slice;
        } while (size > 0);
    }
    // §7.2.1: remove the 00 00 FF FF that the sync flush ended with.
    std::string_view produced(out.data() + start, out.size() - start);
    if (produced.size() >= kTail.size()
        && std::memcmp(produced.data() + produced.size() - kTail.size(), kTail.data(), kTail.size()) == 0)
        out.resize(out.size() - kTail.size());
    // An empty message after a flush produces nothing; send the same single 0x00 (the header of the
    // empty stored block the receiver completes with the tail) that a fresh compressor produces.
    if (out.size() == start)
        out.push_back('\0');
    if (d->noContextTakeover && d->ready)
        deflateReset(&d->strm);
}

} // namespace qws::protocol
