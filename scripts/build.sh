#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configures and builds QuickWebSockets into ${QWS_BUILD_DIR:-build} (Ninja, RelWithDebInfo).
# Extra arguments are passed to cmake's configure step, e.g. -DQWS_SANITIZE=address,undefined.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QWS_BUILD_DIR:-build}
GEN=()
if command -v ninja >/dev/null && [ ! -f "$BUILD_DIR/Makefile" ]; then GEN=(-G Ninja); fi
cmake -S . -B "$BUILD_DIR" "${GEN[@]}" "$@"
cmake --build "$BUILD_DIR" --parallel "${QWS_JOBS:-$(nproc)}"
