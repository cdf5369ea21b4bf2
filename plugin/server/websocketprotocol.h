// SPDX-License-Identifier: BSD-3-Clause
// Close codes and versions with the names of QWebSocketProtocol, so code ported from Qt reads the same.
#pragma once

#include "quickwebsockets_global.h"

#include <QtCore/qobjectdefs.h>

namespace qws {
namespace WebSocketProtocol {
Q_NAMESPACE_EXPORT(QWS_EXPORT)

enum Version {
    VersionUnknown = -1,
    Version0 = 0, Version4 = 4, Version5 = 5, Version6 = 6, Version7 = 7, Version8 = 8,
    Version13 = 13,
    VersionLatest = Version13,
};
Q_ENUM_NS(Version)

/// RFC 6455 §7.4.1 (values identical to QWebSocketProtocol::CloseCode). The underlying type is fixed
/// so that any code a peer sends (3000–4999 for applications) is a valid value (UBSan -fsanitize=enum).
enum CloseCode : int {
    CloseCodeNormal = 1000,
    CloseCodeGoingAway = 1001,
    CloseCodeProtocolError = 1002,
    CloseCodeDatatypeNotSupported = 1003,
    CloseCodeReserved1004 = 1004,
    CloseCodeMissingStatusCode = 1005,
    CloseCodeAbnormalDisconnection = 1006,
    CloseCodeWrongDatatype = 1007,
    CloseCodePolicyViolated = 1008,
    CloseCodeTooMuchData = 1009,
    CloseCodeMissingExtension = 1010,
    CloseCodeBadOperation = 1011,
    CloseCodeTlsHandshakeFailed = 1015,
};
Q_ENUM_NS(CloseCode)

} // namespace WebSocketProtocol
} // namespace qws
