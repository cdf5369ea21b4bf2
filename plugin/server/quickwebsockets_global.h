// SPDX-License-Identifier: BSD-3-Clause
// Export macro of the QuickWebSockets engine library.
#pragma once

#include <QtCore/qglobal.h>

#if defined(QWS_BUILDING_LIBRARY)
#  define QWS_EXPORT Q_DECL_EXPORT
#else
#  define QWS_EXPORT Q_DECL_IMPORT
#endif
