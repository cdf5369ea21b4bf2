// SPDX-License-Identifier: BSD-3-Clause
// The examples' headless default: a server needs no display, so without one (and without an explicit
// QT_QPA_PLATFORM) Qt runs offscreen. Call before constructing the QGuiApplication.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QtGlobal>

namespace qws::examples {

// Returns true when it chose offscreen (no platform set, no X11 or Wayland display).
inline bool defaultToOffscreen()
{
    if (!qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") || !qEnvironmentVariableIsEmpty("DISPLAY")
        || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        return false;
    qputenv("QT_QPA_PLATFORM", "offscreen");
    return true;
}

} // namespace qws::examples
