// SPDX-License-Identifier: BSD-3-Clause
// libFuzzer: client bytes into an accepted ServerConnection. Accepted or refused with a documented
// Failure; anything else (a crash, a leak, an undocumented event, unbounded output) is a finding.
//
// Input: byte 0 chooses the setup, the rest is what the client sends after its upgrade request.
//   bits 0-2  read size: whole, 1, 2, 3, 7, 16, 64 or 1000 bytes per receive()
//   bits 3-4  limits (frame/message): 64 KiB/256 KiB, 1 KiB/4 KiB, 125/125, 1 MiB/1 MiB
//   bit  5    deliverFragments
//   bit  6    the client offers permessage-deflate (the server accepts it)
//   bit  7    the server echoes every message (exercises the Deflater) and closes at the end
// A second connection gets the same bytes through receive(data, scratch), the engine's form, with a
// payload allocator taking binary messages from 16 bytes up: its events, output and state must equal
// the first's exactly (a differential check of the scratch and external-storage paths).
#include "protocol/connection.h"
#include "protocol/utf8.h"

#include "framebuilder.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using namespace qws::protocol;

namespace {

constexpr std::size_t kReadSizes[8] = {0, 1, 2, 3, 7, 16, 64, 1000};
struct Limits { std::uint64_t frame, message; };
constexpr Limits kLimits[4] = {{64 * 1024, 256 * 1024}, {1024, 4096}, {125, 125}, {1 << 20, 1 << 20}};

// A broken rule names its line (the trap alone leaves only a stack without line numbers).
#define FUZZ_CHECK(cond) do { if (!(cond)) { std::fprintf(stderr, "FUZZ_CHECK failed at line %d\n", __LINE__); __builtin_trap(); } } while (0)

std::span<const std::byte> asBytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

struct Checker {
    const MessageLimits &limits;
    bool deflate = false;
    bool ended = false;           // a Close or Failure was seen: nothing may follow
    bool inFragments = false;
    Utf8Validator fragmentText;   // text fragments must be valid UTF-8 as a whole

    void check(const Event &event)
    {
        FUZZ_CHECK(!event.valueless_by_exception());
        FUZZ_CHECK(!ended);
        if (const auto *m = std::get_if<Message>(&event)) {
            FUZZ_CHECK(!limits.deliverFragments);
            FUZZ_CHECK(m->opcode == Opcode::Text || m->opcode == Opcode::Binary);
            FUZZ_CHECK(m->payload.size() <= limits.maxMessageSize);
            FUZZ_CHECK(deflate || !m->compressed);
            FUZZ_CHECK(m->opcode != Opcode::Text || isValidUtf8(m->payload));
        } else if (const auto *f = std::get_if<Fragment>(&event)) {
            FUZZ_CHECK(limits.deliverFragments);
            FUZZ_CHECK(f->opcode == Opcode::Text || f->opcode == Opcode::Binary);
            FUZZ_CHECK(f->payload.size() <= limits.maxMessageSize);
            FUZZ_CHECK(f->first == !inFragments);   // §5.4: a first fragment exactly when none is open
            if (f->first)
                fragmentText.reset();
            if (f->opcode == Opcode::Text)
                FUZZ_CHECK(fragmentText.write(f->payload));
            inFragments = !f->last;
            if (f->last && f->opcode == Opcode::Text)
                FUZZ_CHECK(fragmentText.finish());
        } else if (const auto *p = std::get_if<Ping>(&event)) {
            FUZZ_CHECK(p->payload.size() <= 125);
        } else if (const auto *p = std::get_if<Pong>(&event)) {
            FUZZ_CHECK(p->payload.size() <= 125);
        } else if (const auto *c = std::get_if<Close>(&event)) {
            FUZZ_CHECK(c->code == 1005 || isValidWireCloseCode(c->code));
            FUZZ_CHECK(c->reason.size() <= 123 && isValidUtf8(c->reason));
            ended = true;
        } else {
            const auto &failure = std::get<Failure>(event);
            FUZZ_CHECK(failure.error != Error::None && closeCodeFor(failure.error) != 0);
            ended = true;
        }
    }
};

/// Storage for large binary messages, as the engine's QByteArray allocator provides it.
struct VectorAllocator final : PayloadAllocator {
    struct Payload final : ExternalPayload {
        std::vector<std::byte> storage;
    };
    std::shared_ptr<ExternalPayload> allocate(std::size_t size) override
    {
        auto payload = std::make_shared<Payload>();
        payload->storage.resize(size);
        payload->bytes = payload->storage;
        return payload;
    }
    /// Zero copy (ReceiveScratch::inputWritable): the bytes stay in the twin's copy of the read, which
    /// lives until the events are checked. Every third offer is declined, as when the engine's read
    /// blocks are all held.
    std::shared_ptr<ExternalPayload> adopt(std::span<std::byte> bytes) override
    {
        if (++offers % 3 == 0)
            return nullptr;
        auto payload = std::make_shared<Payload>();
        payload->bytes = bytes;
        return payload;
    }
    unsigned offers = 0;
};

std::string_view messageBytes(const Message &m)
{
    if (m.external)
        FUZZ_CHECK(m.payload.empty() && m.inPlace.empty() && m.opcode == Opcode::Binary && !m.compressed);
    if (!m.inPlace.empty())   // a small whole message, viewed where it lay
        FUZZ_CHECK(m.payload.empty() && m.inPlace.size() < 126 && !m.compressed);
    return m.bytes();
}

/// The same event, whichever way the payload was stored.
bool sameEvent(const Event &a, const Event &b)
{
    if (a.index() != b.index())
        return false;
    if (const auto *m = std::get_if<Message>(&a)) {
        const auto &n = std::get<Message>(b);
        return m->opcode == n.opcode && m->compressed == n.compressed && messageBytes(*m) == messageBytes(n);
    }
    if (const auto *f = std::get_if<Fragment>(&a)) {
        const auto &g = std::get<Fragment>(b);
        return f->opcode == g.opcode && f->payload == g.payload && f->first == g.first && f->last == g.last;
    }
    if (const auto *p = std::get_if<Ping>(&a))
        return p->payload == std::get<Ping>(b).payload;
    if (const auto *p = std::get_if<Pong>(&a))
        return p->payload == std::get<Pong>(b).payload;
    if (const auto *c = std::get_if<Close>(&a))
        return c->code == std::get<Close>(b).code && c->reason == std::get<Close>(b).reason;
    return std::get<Failure>(a).error == std::get<Failure>(b).error;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::uint8_t knobs = data[0];
    const std::string_view input(reinterpret_cast<const char *>(data + 1), size - 1);
    const std::size_t readSize = kReadSizes[knobs & 7] ? kReadSizes[knobs & 7] : input.size() + 1;
    const bool offerDeflate = knobs & 0x40;
    const bool echo = knobs & 0x80;

    ConnectionConfig config;
    config.messages.maxFrameSize = kLimits[(knobs >> 3) & 3].frame;
    config.messages.maxMessageSize = kLimits[(knobs >> 3) & 3].message;
    config.messages.deliverFragments = knobs & 0x20;
    config.deflate.minMessageSize = 16;
    ServerConnection c(config);
    ServerConnection twin(config);
    for (ServerConnection *each : {&c, &twin}) {
        each->receive(asBytes(qws::test::upgradeRequest(
            offerDeflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "")));
        FUZZ_CHECK(each->state() == ServerConnection::State::AwaitingDecision);
        each->accept();
        FUZZ_CHECK(each->state() == ServerConnection::State::Open);
        FUZZ_CHECK(each->deflateParams().has_value() == offerDeflate);
        FUZZ_CHECK(each->takeOutput().rfind("HTTP/1.1 101 ", 0) == 0);
    }
    VectorAllocator allocator;
    ReceiveScratch scratch;
    scratch.allocator = &allocator;
    scratch.externalMin = 16;

    Checker checker{config.messages, offerDeflate};
    std::size_t output = 0;
    std::size_t allowed = 512;   // our close frame and slack
    for (std::size_t at = 0; at < input.size(); at += readSize) {
        const std::string_view chunk = input.substr(at, readSize);
        const bool wasClosed = c.state() == ServerConnection::State::Closed;
        c.receive(asBytes(chunk));
        // The twin reads the rest of a large message straight into its storage (payloadSink()), and the
        // other bytes into storage of its own, from which payloads may be adopted.
        std::string_view rest = chunk;
        if (const std::span<std::byte> sink = twin.payloadSink(); !sink.empty()) {
            const std::size_t n = std::min(sink.size(), rest.size());
            std::memcpy(sink.data(), rest.data(), n);
            twin.receivedInPlace(n, scratch);
            rest.remove_prefix(n);
        }
        std::string writable(rest);
        scratch.inputWritable = true;
        twin.receive(asBytes(writable), scratch);
        scratch.inputWritable = false;
        FUZZ_CHECK(!twin.hasEvents());
        // A pong per ping: at most 127 bytes out for every 6 bytes (a masked empty ping) in.
        allowed += (chunk.size() / 6 + 1) * 127;
        const std::vector<Event> events = c.takeEvents();
        FUZZ_CHECK(events.size() == scratch.events.size());
        for (std::size_t i = 0; i < events.size(); ++i)
            FUZZ_CHECK(sameEvent(events[i], scratch.events[i]));
        // The core wrote nothing in the twin's read but the payloads it delivered from there (adopted, or
        // small ones viewed), unmasked in place.
        std::string untouched = writable;
        for (const Event &event : scratch.events) {
            const auto *m = std::get_if<Message>(&event);
            if (!m || (!m->external && m->inPlace.empty()))
                continue;
            const std::string_view bytes = m->bytes();
            if (bytes.data() >= writable.data() && bytes.data() < writable.data() + writable.size()) {
                const auto offset = std::size_t(bytes.data() - writable.data());
                FUZZ_CHECK(offset + bytes.size() <= writable.size());
                untouched.replace(offset, bytes.size(), rest.substr(offset, bytes.size()));
            } else {
                FUZZ_CHECK(m->inPlace.empty());   // a view is always into the read
            }
        }
        FUZZ_CHECK(untouched == rest);
        for (Event &event : scratch.events) {
            if (auto *m = std::get_if<Message>(&event))
                scratch.recycle(std::move(m->payload));
        }
        scratch.events.clear();
        for (const Event &event : events) {
            checker.check(event);
            const auto *m = std::get_if<Message>(&event);
            if (m && echo && c.state() == ServerConnection::State::Open) {
                FUZZ_CHECK(m->opcode == Opcode::Text ? c.sendText(m->payload) : c.sendBinary(asBytes(m->payload)));
                allowed += m->payload.size() + m->payload.size() / 16 + 64;   // deflate may grow a little
            }
        }
        if (echo) {   // the twin answers the same messages, so its output stays comparable
            for (const Event &event : events) {
                const auto *m = std::get_if<Message>(&event);
                if (m && twin.state() == ServerConnection::State::Open)
                    m->opcode == Opcode::Text ? twin.sendText(m->payload) : twin.sendBinary(asBytes(m->payload));
            }
        }
        const std::string bytesOut = c.takeOutput();
        FUZZ_CHECK(twin.takeOutput() == bytesOut);
        FUZZ_CHECK(twin.state() == c.state() && twin.closeCode() == c.closeCode());
        const std::size_t out = bytesOut.size();
        FUZZ_CHECK(!wasClosed || out == 0);   // nothing is sent once closed
        output += out;
        FUZZ_CHECK(output <= allowed);
        if (checker.ended)
            FUZZ_CHECK(c.state() == ServerConnection::State::Closed);
    }
    if (echo && c.state() == ServerConnection::State::Open) {
        FUZZ_CHECK(c.close(1000, "done"));
        FUZZ_CHECK(c.takeOutput() == std::string("\x88\x06\x03\xe8" "done", 8));
        FUZZ_CHECK(!c.sendText("late"));
    }
    c.receiveEof();
    FUZZ_CHECK(c.state() == ServerConnection::State::Closed);
    return 0;
}
