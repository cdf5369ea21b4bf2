// SPDX-License-Identifier: BSD-3-Clause
// permessage-deflate test helpers: our Inflater/Deflater driven per message, and plain-zlib references.
#pragma once

#include "chunks.h"

#include <protocol/deflate.h>

#include <QByteArray>
#include <QString>

#include <zlib.h>

#include <cctype>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qws::test {

/// The enumerator's name for the errors the deflate code can return (tests assert names, not texts).
inline QString deflateErrorName(protocol::Error e)
{
    switch (e) {
    case protocol::Error::None: return QStringLiteral("None");
    case protocol::Error::InflateFailed: return QStringLiteral("InflateFailed");
    case protocol::Error::MessageTooBig: return QStringLiteral("MessageTooBig");
    default: return QStringLiteral("Error %1").arg(int(e));
    }
}

/// "f2 48 cd" → bytes; anything that is not a hex digit is skipped.
inline std::string fromHex(std::string_view hex)
{
    std::string out;
    int nibbles = 0, v = 0;
    for (char c : hex) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isxdigit(u))
            continue;
        v = v * 16 + (std::isdigit(u) ? c - '0' : std::tolower(u) - 'a' + 10);
        if (++nibbles == 2) {
            out.push_back(static_cast<char>(v));
            nibbles = v = 0;
        }
    }
    return out;
}

inline QByteArray toHex(const std::string &s) { return QByteArray::fromStdString(s).toHex(' '); }

inline std::string deflateOne(protocol::Deflater &d, std::string_view msg)
{
    std::string out;
    d.deflate(bytes(msg), out);
    return out;
}

/// Inflates one message given as pieces; the last piece carries last = true. `cap` bounds the message.
inline std::pair<protocol::Error, std::string> inflatePieces(protocol::Inflater &inf,
                                                             const std::vector<std::string_view> &pieces,
                                                             std::size_t cap = SIZE_MAX)
{
    std::string out;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const auto e = inf.inflate(bytes(pieces[i]), i + 1 == pieces.size(), out, cap - out.size());
        if (e != protocol::Error::None)
            return {e, out};
    }
    return {protocol::Error::None, out};
}

inline std::pair<protocol::Error, std::string> inflateOne(protocol::Inflater &inf, std::string_view payload,
                                                          std::size_t cap = SIZE_MAX)
{
    return inflatePieces(inf, {payload}, cap);
}

/// An independent reference: plain zlib, raw deflate, sync flush, tail stripped (RFC 7692 §7.2.1).
/// A dictionary stands for the window shared with earlier messages (context takeover).
inline std::string zlibCompress(std::string_view msg, int windowBits = 15, std::string_view dictionary = {})
{
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, -windowBits, 8, Z_DEFAULT_STRATEGY);
    if (!dictionary.empty())
        deflateSetDictionary(&s, reinterpret_cast<const Bytef *>(dictionary.data()), uInt(dictionary.size()));
    std::string out(deflateBound(&s, uLong(msg.size())) + 16, '\0');
    s.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(msg.data()));
    s.avail_in = uInt(msg.size());
    s.next_out = reinterpret_cast<Bytef *>(out.data());
    s.avail_out = uInt(out.size());
    deflate(&s, Z_SYNC_FLUSH);
    out.resize(out.size() - s.avail_out);
    deflateEnd(&s);
    if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\0\0\xff\xff", 4)) == 0)
        out.resize(out.size() - 4);
    return out;
}

/// Plain zlib inflate of one message with the tail appended, as RFC 7692 §7.2.2 describes it.
/// Returns the message, or "<zlib error>".
inline std::string zlibInflate(z_stream &s, std::string msg)
{
    msg.append("\0\0\xff\xff", 4);
    std::string out;
    s.next_in = reinterpret_cast<Bytef *>(msg.data());
    s.avail_in = uInt(msg.size());
    char buf[4096];
    for (;;) {
        s.next_out = reinterpret_cast<Bytef *>(buf);
        s.avail_out = sizeof buf;
        const int rc = inflate(&s, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return "<zlib error>";
        out.append(buf, sizeof buf - s.avail_out);
        if (rc == Z_BUF_ERROR || (s.avail_in == 0 && s.avail_out != 0))
            return out;
    }
}

/// How many bytes a raw-deflate message (tail stripped) inflates to, counted without keeping them.
inline std::size_t zlibInflatedSize(std::string msg)
{
    z_stream s{};
    inflateInit2(&s, -15);
    msg.append("\0\0\xff\xff", 4);
    s.next_in = reinterpret_cast<Bytef *>(msg.data());
    s.avail_in = uInt(msg.size());
    std::size_t total = 0;
    std::string buf(1 << 16, '\0');
    for (;;) {
        s.next_out = reinterpret_cast<Bytef *>(buf.data());
        s.avail_out = uInt(buf.size());
        const int rc = inflate(&s, Z_SYNC_FLUSH);
        total += buf.size() - s.avail_out;
        if (rc != Z_OK || (s.avail_in == 0 && s.avail_out != 0))
            break;
    }
    inflateEnd(&s);
    return total;
}

/// A deflate bomb: `plainSize` zero bytes as one raw-deflate message (tail stripped), about
/// plainSize / 1030 bytes long (DEFLATE's ceiling: a 258-byte match costs 2 bits at best).
inline std::string deflateBomb(std::size_t plainSize)
{
    z_stream s{};
    deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_RLE);   // RLE: fast, same ratio on zeros
    const std::string zeros(1 << 20, '\0');
    std::string bomb, buf(1 << 16, '\0');
    for (std::size_t done = 0; done < plainSize;) {
        const std::size_t n = std::min(zeros.size(), plainSize - done);
        done += n;
        s.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(zeros.data()));
        s.avail_in = uInt(n);
        do {
            s.next_out = reinterpret_cast<Bytef *>(buf.data());
            s.avail_out = uInt(buf.size());
            deflate(&s, done == plainSize ? Z_SYNC_FLUSH : Z_NO_FLUSH);
            bomb.append(buf.data(), buf.size() - s.avail_out);
        } while (s.avail_out == 0);
    }
    deflateEnd(&s);
    bomb.resize(bomb.size() - 4);
    return bomb;
}

/// JSON-ish UTF-8 text (2- and 4-byte sequences included) that compresses like real traffic.
inline std::string sampleText(std::size_t n, unsigned seed)
{
    static const char *words[] = {"price", "\"symbol\":", "{\"id\":", "volume", "timestamp", "\u00e9t\u00e9",
                                  "\xf0\x9f\x93\x88", "42.17", "},", " "};
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n)
        s += words[rng() % std::size(words)];
    s.resize(n);
    return s;
}

inline std::string randomBytes(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto &c : s)
        c = static_cast<char>(rng());
    return s;
}

} // namespace qws::test
