#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The README's first command: installs what is missing, builds, and starts the project's main job —
# the inspector app (examples/inspector): a WebSocket server on ws://localhost:8080 and a window showing its
# live connections. Arguments are passed to the app (e.g. --port 9000 --echo). Without a display it runs
# offscreen (the server still serves).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DQWS_BUILD_TESTS=OFF -DQWS_BUILD_BENCH=OFF >/dev/null
BUILD_DIR=${QWS_BUILD_DIR:-build}
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
  echo "run: no display found, running offscreen (set DISPLAY, or use xvfb-run, to see a window)"
fi
exec "$BUILD_DIR/examples/inspector/qws-inspector" "$@"
