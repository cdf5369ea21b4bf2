#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The README's first command: installs what is missing, builds, and starts the project's main job —
# for now the QML echo server of examples/echo (declared in QML; the inspector app replaces it later).
# Arguments are passed to the app (e.g. --port 9000). Without a display it runs offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DQWS_BUILD_TESTS=OFF -DQWS_BUILD_BENCH=OFF >/dev/null
BUILD_DIR=${QWS_BUILD_DIR:-build}
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
  echo "run: no display found, running offscreen (set DISPLAY, or use xvfb-run, to see a window)"
fi
exec "$BUILD_DIR/examples/echo/qws-echo" "$@"
