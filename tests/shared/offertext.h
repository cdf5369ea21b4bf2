// SPDX-License-Identifier: BSD-3-Clause
// Extension offers as one line of text, so a test table row can state a whole offer list.
#pragma once

#include "protocol/extensions.h"

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <vector>

namespace qws::test {

/// "name[p=v;q] | other": one string per offer list.
inline QString formatOffers(const std::vector<protocol::ExtensionOffer> &offers)
{
    QStringList out;
    for (const protocol::ExtensionOffer &o : offers) {
        QStringList params;
        for (const protocol::ExtensionParam &p : o.params)
            params << QString::fromStdString(p.value ? p.name + "=" + *p.value : p.name);
        out << QString::fromStdString(o.name) + (params.isEmpty() ? QString() : "[" + params.join(';') + "]");
    }
    return out.join(QStringLiteral(" | "));
}

} // namespace qws::test
