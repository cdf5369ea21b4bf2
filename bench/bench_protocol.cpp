// SPDX-License-Identifier: BSD-3-Clause
// Benchmarks of the protocol core's hot paths (model: Beast test/bench, picohttpparser bench.c).
#include <protocol/connection.h>
#include <protocol/frame.h>
#include <protocol/handshake.h>
#include <protocol/mask.h>
#include <protocol/utf8.h>

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace qws::protocol;

namespace {

constexpr std::array<std::uint8_t, 4> kKey{0x37, 0xfa, 0x21, 0x3d};

std::span<const std::byte> bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte *>(s.data()), s.size()};
}

/// A masked client binary frame carrying `size` random bytes.
std::vector<std::byte> maskedFrame(std::size_t size)
{
    std::vector<std::byte> frame(kMaxFrameHeaderSize + size);
    const std::size_t header = writeFrameHeader(std::span(frame).first<kMaxFrameHeaderSize>(), Opcode::Binary,
                                                true, false, size, &kKey);
    frame.resize(header + size);
    std::mt19937 rng(size);
    for (std::size_t i = header; i < frame.size(); ++i)
        frame[i] = std::byte(rng() & 0xff);
    return frame;
}

// RFC 6455 §5.2 + §5.3: what a connection does per large binary frame: parse the header, unmask the
// payload in place.
void BM_UnmaskAndParse(benchmark::State &state)
{
    std::vector<std::byte> frame = maskedFrame(std::size_t(state.range(0)));
    FrameRules rules;
    rules.maxPayload = UINT64_MAX;
    for (auto _ : state) {
        FrameHeader h;
        const HeaderParse r = parseFrameHeader(frame, rules, h);
        if (r.status != ParseStatus::Complete) {
            state.SkipWithError("header did not parse");
            break;
        }
        applyMask(std::span(frame).subspan(h.headerSize, h.payloadLength), h.mask);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(frame.size()));
}
BENCHMARK(BM_UnmaskAndParse)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMicrosecond);

// The same, unmasking into a separate buffer (as when a payload is appended to a message being built).
void BM_UnmaskCopy(benchmark::State &state)
{
    const std::vector<std::byte> frame = maskedFrame(std::size_t(state.range(0)));
    std::vector<std::byte> out(frame.size());
    for (auto _ : state) {
        applyMaskCopy(out.data(), frame.data(), frame.size(), kKey, 0);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(frame.size()));
}
BENCHMARK(BM_UnmaskCopy)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);

/// ~1 MiB of text built from words; `mixed` adds Latin-1 accents, CJK and emoji.
std::string makeText(bool mixed)
{
    static const char *ascii[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog, ",
                                  "server ", "pushes ", "live ", "data. "};
    static const char *other[] = {"caf\xc3\xa9 ", "na\xc3\xafve ", "Gr\xc3\xbc\xc3\x9f" "e ", "\xc3\xa0 ",
                                  "\xe4\xbd\xa0\xe5\xa5\xbd ", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e ",
                                  "\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf ", "\xf0\x9f\x98\x80 ",
                                  "\xf0\x9f\x9a\x80\xf0\x9f\x8e\x89 "};
    std::mt19937 rng(8);
    std::string s;
    while (s.size() < (1u << 20)) {
        if (mixed && rng() % 100 < 36)
            s += other[rng() % std::size(other)];
        else
            s += ascii[rng() % std::size(ascii)];
    }
    return s;
}

void utf8Bench(benchmark::State &state, const std::string &text)
{
    std::size_t multibyte = 0;
    for (char c : text)
        multibyte += (static_cast<unsigned char>(c) & 0x80) != 0;
    for (auto _ : state) {
        Utf8Validator v;
        const bool ok = v.write(text) && v.finish();
        benchmark::DoNotOptimize(ok);
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
    state.counters["non_ascii_bytes_%"] = 100.0 * double(multibyte) / double(text.size());
}

void BM_Utf8Ascii(benchmark::State &state)
{
    static const std::string text = makeText(false);
    utf8Bench(state, text);
}
BENCHMARK(BM_Utf8Ascii)->Unit(benchmark::kMicrosecond);

void BM_Utf8Mixed(benchmark::State &state)
{
    static const std::string text = makeText(true);
    utf8Bench(state, text);
}
BENCHMARK(BM_Utf8Mixed)->Unit(benchmark::kMicrosecond);

// RFC 6455 §5.2: headers of 1024 small masked frames (chat-sized, 0–300 bytes) back to back.
void BM_ParseSmallFrameHeaders(benchmark::State &state)
{
    std::vector<std::byte> stream;
    std::mt19937 rng(5);
    constexpr int kFrames = 1024;
    for (int i = 0; i < kFrames; ++i) {
        const std::size_t size = rng() % 300;
        std::array<std::byte, kMaxFrameHeaderSize> h{};
        const std::size_t n = writeFrameHeader(h, i % 2 ? Opcode::Text : Opcode::Binary, true, false, size, &kKey);
        stream.insert(stream.end(), h.begin(), h.begin() + n);
        stream.resize(stream.size() + size, std::byte{'x'});
    }
    const FrameRules rules;
    for (auto _ : state) {
        std::size_t at = 0;
        while (at < stream.size()) {
            FrameHeader h;
            const HeaderParse r = parseFrameHeader(std::span(stream).subspan(at), rules, h);
            if (r.status != ParseStatus::Complete) {
                state.SkipWithError("header did not parse");
                return;
            }
            benchmark::DoNotOptimize(h);
            at += h.headerSize + h.payloadLength;
        }
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * kFrames);
}
BENCHMARK(BM_ParseSmallFrameHeaders);

// RFC 6455 §4.2.1: a Chrome upgrade request, parsed and validated whole.
void BM_HandshakeParse(benchmark::State &state)
{
    static const std::string request =
        "GET /chat HTTP/1.1\r\n"
        "Host: localhost:8080\r\n"
        "Connection: Upgrade\r\n"
        "Pragma: no-cache\r\n"
        "Cache-Control: no-cache\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36\r\n"
        "Upgrade: websocket\r\n"
        "Origin: http://localhost:8080\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Accept-Language: en-US,en;q=0.9\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "\r\n";
    for (auto _ : state) {
        RequestParser parser;
        std::size_t consumed = 0;
        const auto status = parser.feed(bytes(request), consumed);
        if (status != RequestParser::Status::Complete) {
            state.SkipWithError("request did not parse");
            break;
        }
        benchmark::DoNotOptimize(parser.request().key.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()));
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(request.size()));
    state.counters["request_bytes"] = double(request.size());
}
BENCHMARK(BM_HandshakeParse);

// What an open connection does per read burst of small messages (the 64 B echo workload: 8 in flight):
// receive() 8 masked 64-byte text frames, take the 8 Message events. Includes making and freeing the
// message assembler, which an idle connection does not keep between bursts.
/// `receive()` of 8 masked 64-byte text frames on an open connection, then its events. With
/// `scratch` (state.range(0) == 1), receive(data, scratch) as the engine drives it: events vector,
/// payload buffers and assembler reused, so no allocation per message.
void BM_ConnectionBurst64(benchmark::State &state)
{
    const bool useScratch = state.range(0) == 1;
    ReceiveScratch scratch;
    ServerConnection connection;
    const std::string request = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    connection.receive(bytes(request));
    connection.accept();
    connection.releaseHandshake();
    (void)connection.takeOutput();
    std::vector<std::byte> burst;
    const std::string payload(64, 'x');
    for (int i = 0; i < 8; ++i) {
        std::array<std::byte, kMaxFrameHeaderSize> header{};
        const std::size_t headerSize = writeFrameHeader(header, Opcode::Text, true, false, payload.size(), &kKey);
        burst.insert(burst.end(), header.begin(), header.begin() + std::ptrdiff_t(headerSize));
        const std::size_t at = burst.size();
        burst.resize(at + payload.size());
        for (std::size_t j = 0; j < payload.size(); ++j)
            burst[at + j] = std::byte(std::uint8_t(payload[j]) ^ kKey[j % 4]);
    }
    for (auto _ : state) {
        if (useScratch) {
            connection.receive(burst, scratch);
            if (scratch.events.size() != 8) {
                state.SkipWithError("expected 8 messages");
                break;
            }
            benchmark::DoNotOptimize(scratch.events.data());
            for (Event &event : scratch.events)
                scratch.recycle(std::move(std::get<Message>(event).payload));
            scratch.events.clear();
            continue;
        }
        connection.receive(burst);
        auto events = connection.takeEvents();
        if (events.size() != 8) {
            state.SkipWithError("expected 8 messages");
            break;
        }
        benchmark::DoNotOptimize(events.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * 8);
}
BENCHMARK(BM_ConnectionBurst64)->Arg(0)->Arg(1);

} // namespace

BENCHMARK_MAIN();
