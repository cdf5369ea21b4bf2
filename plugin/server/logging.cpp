// SPDX-License-Identifier: BSD-3-Clause
// Definitions of the engine's logging categories (enable with QT_LOGGING_RULES="qws.*=true").
#include "logging_p.h"

namespace qws {
Q_LOGGING_CATEGORY(lcServer, "qws.server", QtWarningMsg)
Q_LOGGING_CATEGORY(lcTls, "qws.tls", QtWarningMsg)
Q_LOGGING_CATEGORY(lcProtocol, "qws.protocol", QtWarningMsg)
} // namespace qws
