// SPDX-License-Identifier: BSD-3-Clause
// The engine's logging categories: qws.server (sockets, threads, limits), qws.tls, qws.protocol.
#pragma once

#include <QtCore/QLoggingCategory>

namespace qws {
Q_DECLARE_LOGGING_CATEGORY(lcServer)
Q_DECLARE_LOGGING_CATEGORY(lcTls)
Q_DECLARE_LOGGING_CATEGORY(lcProtocol)
} // namespace qws
