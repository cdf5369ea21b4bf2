#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Configures and builds QuickWebSockets into ${QWS_BUILD_DIR:-build} (Ninja, RelWithDebInfo).
# Extra arguments are passed to cmake's configure step, e.g. -DQWS_SANITIZE=address,undefined.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QWS_BUILD_DIR:-build}
. scripts/generator.sh; qws_generator "$BUILD_DIR"
cmake -S . -B "$BUILD_DIR" "${GEN[@]}" "$@"
cmake --build "$BUILD_DIR" --parallel "${QWS_JOBS:-$(nproc)}"
