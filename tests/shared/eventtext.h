// SPDX-License-Identifier: BSD-3-Clause
// Events as one-line strings, so a test compares a whole event sequence with a QStringList and a
// failure prints readably: "text(5): Hello", "ping: abc", "close 1000: bye", "failure InvalidUtf8 1007".
#pragma once

#include "protocol/events.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qws::test {

/// The enumerator's name: tests assert which rule failed, never describe()'s wording.
inline QString errorName(protocol::Error e)
{
    using protocol::Error;
    switch (e) {
#define QWS_ERROR_NAME(x) case Error::x: return QStringLiteral(#x);
    QWS_ERROR_NAME(None) QWS_ERROR_NAME(HandshakeMalformed) QWS_ERROR_NAME(HandshakeTooLarge)
    QWS_ERROR_NAME(HandshakeBadHttpVersion) QWS_ERROR_NAME(HandshakeMissingHost) QWS_ERROR_NAME(HandshakeNotUpgrade)
    QWS_ERROR_NAME(HandshakeBadKey) QWS_ERROR_NAME(HandshakeMethodNotAllowed) QWS_ERROR_NAME(HandshakeBadVersion)
    QWS_ERROR_NAME(HandshakeOriginRefused) QWS_ERROR_NAME(HandshakeServerFull) QWS_ERROR_NAME(HandshakeTimeout)
    QWS_ERROR_NAME(HandshakeNotHttp) QWS_ERROR_NAME(HandshakeTlsOnPlainPort)
    QWS_ERROR_NAME(UnmaskedFrame) QWS_ERROR_NAME(ReservedBits) QWS_ERROR_NAME(UnknownOpcode)
    QWS_ERROR_NAME(NonMinimalLength) QWS_ERROR_NAME(LengthTooLarge) QWS_ERROR_NAME(ControlFrameTooLong)
    QWS_ERROR_NAME(FragmentedControlFrame) QWS_ERROR_NAME(UnexpectedContinuation)
    QWS_ERROR_NAME(ExpectedContinuation) QWS_ERROR_NAME(CompressedControlFrame)
    QWS_ERROR_NAME(CompressedContinuation) QWS_ERROR_NAME(CloseTooShort) QWS_ERROR_NAME(InvalidCloseCode)
    QWS_ERROR_NAME(InvalidCloseReason) QWS_ERROR_NAME(InvalidUtf8) QWS_ERROR_NAME(InflateFailed)
    QWS_ERROR_NAME(FrameTooBig) QWS_ERROR_NAME(MessageTooBig) QWS_ERROR_NAME(DataAfterClose)
#undef QWS_ERROR_NAME
    }
    return QStringLiteral("Error(%1)").arg(int(e));
}

/// Short payloads verbatim (non-printable bytes as \xHH); long ones as a length and an FNV-1a hash.
inline QString payloadText(std::string_view p)
{
    if (p.size() > 48) {
        std::uint32_t h = 2166136261u;
        for (unsigned char c : p)
            h = (h ^ c) * 16777619u;
        return QStringLiteral("#%1").arg(h, 8, 16, QLatin1Char('0'));
    }
    QString out;
    for (unsigned char c : p) {
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out += QLatin1Char(char(c));
        else
            out += QStringLiteral("\\x%1").arg(uint(c), 2, 16, QLatin1Char('0'));
    }
    return out;
}

inline QString opcodeName(protocol::Opcode op)
{
    return op == protocol::Opcode::Text ? QStringLiteral("text") : QStringLiteral("binary");
}

inline QString eventText(const protocol::Event &event)
{
    using namespace protocol;
    if (auto m = std::get_if<Message>(&event))
        return QStringLiteral("%1(%2): %3%4").arg(opcodeName(m->opcode)).arg(m->payload.size())
            .arg(payloadText(m->payload), m->compressed ? QStringLiteral(" [deflate]") : QString());
    if (auto f = std::get_if<Fragment>(&event))
        return QStringLiteral("fragment %1%2%3(%4): %5").arg(opcodeName(f->opcode),
                                                            f->first ? QStringLiteral(" first") : QString(),
                                                            f->last ? QStringLiteral(" last") : QString())
            .arg(f->payload.size()).arg(payloadText(f->payload));
    if (auto p = std::get_if<Ping>(&event))
        return QStringLiteral("ping: ") + payloadText(p->payload);
    if (auto p = std::get_if<Pong>(&event))
        return QStringLiteral("pong: ") + payloadText(p->payload);
    if (auto c = std::get_if<Close>(&event))
        return QStringLiteral("close %1: %2").arg(c->code).arg(payloadText(c->reason));
    const auto &f = std::get<Failure>(event);
    return QStringLiteral("failure %1 %2").arg(errorName(f.error)).arg(closeCodeFor(f.error));
}

inline QStringList eventTexts(const std::vector<protocol::Event> &events)
{
    QStringList out;
    for (const auto &e : events)
        out << eventText(e);
    return out;
}

} // namespace qws::test
