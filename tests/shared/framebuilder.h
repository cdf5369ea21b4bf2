// SPDX-License-Identifier: BSD-3-Clause
// Builds client (masked) frames byte for byte, including deliberately wrong ones, for tests and fuzz seeds.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace qws::test {

struct FrameSpec {
    std::uint8_t opcode = 0x1;
    bool fin = true;
    bool rsv1 = false, rsv2 = false, rsv3 = false;
    bool masked = true;
    std::array<std::uint8_t, 4> mask{0x37, 0xfa, 0x21, 0x3d};
    int lengthForm = 0;           ///< 0: minimal; 7, 16 or 64: force that encoding (non-minimal tests)
    std::uint64_t lengthOverride = UINT64_MAX; ///< write this length instead of payload.size()
};

/// The wire bytes of one frame carrying `payload` (masked with spec.mask when spec.masked).
inline std::string makeFrame(std::string_view payload, const FrameSpec &spec = {})
{
    std::string out;
    out.push_back(static_cast<char>((spec.fin ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0)
                                    | (spec.rsv3 ? 0x10 : 0) | (spec.opcode & 0x0f)));
    const std::uint64_t len = spec.lengthOverride != UINT64_MAX ? spec.lengthOverride : payload.size();
    int form = spec.lengthForm;
    if (form == 0)
        form = len <= 125 ? 7 : (len <= 0xffff ? 16 : 64);
    const char maskBit = spec.masked ? char(0x80) : char(0);
    if (form == 7) {
        out.push_back(static_cast<char>(maskBit | static_cast<char>(len)));
    } else if (form == 16) {
        out.push_back(static_cast<char>(maskBit | 126));
        out.push_back(static_cast<char>((len >> 8) & 0xff));
        out.push_back(static_cast<char>(len & 0xff));
    } else {
        out.push_back(static_cast<char>(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((len >> shift) & 0xff));
    }
    if (spec.masked) {
        for (auto b : spec.mask)
            out.push_back(static_cast<char>(b));
    }
    for (std::size_t i = 0; i < payload.size(); ++i) {
        const auto c = static_cast<std::uint8_t>(payload[i]);
        out.push_back(static_cast<char>(spec.masked ? c ^ spec.mask[i % 4] : c));
    }
    return out;
}

inline std::string textFrame(std::string_view s, bool fin = true) { return makeFrame(s, {.opcode = 0x1, .fin = fin}); }
inline std::string binaryFrame(std::string_view s, bool fin = true) { return makeFrame(s, {.opcode = 0x2, .fin = fin}); }
inline std::string continuationFrame(std::string_view s, bool fin) { return makeFrame(s, {.opcode = 0x0, .fin = fin}); }
inline std::string pingFrame(std::string_view s = {}) { return makeFrame(s, {.opcode = 0x9}); }
inline std::string pongFrame(std::string_view s = {}) { return makeFrame(s, {.opcode = 0xA}); }
inline std::string closeFrame(std::uint16_t code, std::string_view reason = {})
{
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xff));
    p.append(reason);
    return makeFrame(p, {.opcode = 0x8});
}

/// A valid RFC 6455 §4.1 upgrade request (the RFC's sample key).
inline std::string upgradeRequest(std::string_view extraHeaders = {}, std::string_view target = "/chat")
{
    std::string r = "GET ";
    r.append(target);
    r += " HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
         "Sec-WebSocket-Version: 13\r\n";
    r.append(extraHeaders);
    r += "\r\n";
    return r;
}

} // namespace qws::test
