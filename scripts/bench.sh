#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmarks of issue 7 in one command: builds the bench targets (and our echo servers, the QML probe and
# the inspector when their targets exist), then runs bench/run.py, which prints the markdown tables and writes
# bench/results.json: the load workloads side by side with Qt, then the QML path (bench/qml_bench.py).
#   QWS_BUILD_DIR  build tree (default build)
#   arguments      passed to bench/run.py, e.g. --write-docs, --quick, --only qml, --servers qtref,raw,
#                  --idle-conns 10000
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QWS_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  . scripts/generator.sh; qws_generator "$BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DQWS_BUILD_BENCH=ON
fi
targets=(qws_load raw_echo qtref_echo)
available=$(cmake --build "$BUILD_DIR" --target help 2>/dev/null | sed -n 's/^\([A-Za-z0-9_.+-]*\): .*/\1/p')
for t in echoserver qws_echo qws_qml_probe qws_inspector; do
  if grep -qx -- "$t" <<<"$available"; then targets+=("$t"); fi
done
cmake --build "$BUILD_DIR" --parallel "${QWS_JOBS:-$(nproc)}" --target "${targets[@]}"
exec python3 bench/run.py --build-dir "$BUILD_DIR" "$@"
