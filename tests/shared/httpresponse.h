// SPDX-License-Identifier: BSD-3-Clause
// A small independent reader of the HTTP responses the core writes (tst_response, tst_connection):
// CRLF lines, "Name: value", a blank line, then the body. Anything else leaves wellFormed false.
#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>

#include <algorithm>
#include <string_view>

namespace qws::test {

struct ParsedResponse {
    QByteArray statusLine;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    bool wellFormed = false;

    /// The status code of "HTTP/1.1 NNN Reason"; 0 when it is not one.
    int status() const { return statusLine.startsWith("HTTP/1.1 ") ? statusLine.mid(9, 3).toInt() : 0; }
    /// The first value of a header (names case-insensitive); empty when absent.
    QByteArray header(const QByteArray &name) const
    {
        for (const auto &h : headers) {
            if (h.first.compare(name, Qt::CaseInsensitive) == 0)
                return h.second;
        }
        return {};
    }
    int count(const QByteArray &name) const
    {
        return int(std::count_if(headers.begin(), headers.end(),
                                 [&](const auto &h) { return h.first.compare(name, Qt::CaseInsensitive) == 0; }));
    }
};

inline ParsedResponse parseResponse(std::string_view raw)
{
    ParsedResponse r;
    const QByteArray all(raw.data(), qsizetype(raw.size()));
    const qsizetype end = all.indexOf("\r\n\r\n");
    if (end < 0)
        return r;
    QList<QByteArray> lines = all.left(end + 2).split('\n'); // each line keeps its CR
    lines.removeLast();                                       // the empty piece after the last LF
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (!lines[i].endsWith('\r'))
            return r;
        const QByteArray line = lines[i].chopped(1);
        if (line.contains('\r'))
            return r;
        if (i == 0) {
            r.statusLine = line;
            continue;
        }
        const qsizetype colon = line.indexOf(": ");
        if (colon <= 0)
            return r;
        r.headers.append({line.left(colon), line.mid(colon + 2)});
    }
    r.body = all.mid(end + 4);
    r.wellFormed = true;
    return r;
}

} // namespace qws::test
