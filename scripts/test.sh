#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The README's test command: installs what is missing, builds everything, runs the whole suite with ctest.
#   QWS_BUILD_DIR  build tree (default build)
#   QWS_FUZZ_SECONDS  seconds per fuzz target when clang is present (default 20; 0 skips the fuzz runs)
#   QWS_SANITIZERS  1 (default): then ASan+UBSan (build-asan) and TSan (build-tsan) stages, scripts/sanitize.sh;
#                   0 skips them
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh "$@"
BUILD_DIR=${QWS_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j "${QWS_TEST_JOBS:-2}"
if command -v clang++ >/dev/null && [ "${QWS_FUZZ_SECONDS:-20}" != "0" ]; then
  bash scripts/fuzz.sh "${QWS_FUZZ_SECONDS:-20}"
fi
if [ "${QWS_SANITIZERS:-1}" != "0" ]; then
  bash scripts/sanitize.sh asan tsan
fi
