#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sanitizer stages of the README's test command (called by scripts/test.sh; QWS_SANITIZERS=0 skips them):
#   build-asan  -DQWS_SANITIZE=address,undefined, ctest -L 'protocol|server|tls|qml' (LeakSanitizer on,
#               suppressions in tests/lsan.supp for Qt's own QML/Quick allocations)
#   build-tsan  -DQWS_SANITIZE=thread, ctest -L server (the threaded engine), suppressions in tests/tsan.supp
# Only the test executables of those labels are built (-O1, no examples/bench). Any report fails its test.
#   usage: scripts/sanitize.sh [asan] [tsan]     (default: both)
#   QWS_ASAN_DIR / QWS_TSAN_DIR  build trees (default build-asan / build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/generator.sh
STAGES=("$@")
[ ${#STAGES[@]} -gt 0 ] || STAGES=(asan tsan)

# One sanitizer tree: configure, build the test targets carrying the ctest labels, run them.
run_stage() { # dir sanitize label-regex [extra compile flags] [tests to leave out, regex]
  local dir=$1 sanitize=$2 labels=$3 extra=${4:-} exclude=${5:-^$} start targets
  start=$(date +%s)
  qws_generator "$dir"
  cmake -S . -B "$dir" "${GEN[@]}" -DQWS_SANITIZE="$sanitize" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g -fno-sanitize-recover=all $extra" -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
        -DQWS_BUILD_EXAMPLES=OFF -DQWS_BUILD_BENCH=OFF -DQWS_BUILD_FUZZ=OFF >/dev/null
  # qws_add_test names the ctest after its executable target; the QML ctests (qml_tst_<file>) all run
  # tst_qml, which depends on the QML plugin; the `poll`-labelled reruns (server_poll_<suite>) reuse
  # the tst_<suite> executables, so they name no target of their own.
  targets=$(ctest --test-dir "$dir" -N -L "$labels" -LE poll -E "$exclude" | sed -n 's/^ *Test *#[0-9]*: *//p' \
            | sed 's/^qml_tst_.*/tst_qml/' | sort -u)
  [ -n "$targets" ] || { echo "sanitize: no tests labelled $labels" >&2; return 1; }
  # shellcheck disable=SC2086
  cmake --build "$dir" --parallel "${QWS_JOBS:-$(nproc)}" --target $targets
  echo "sanitize: $dir built in $(( $(date +%s) - start )) s"
  ctest --test-dir "$dir" --output-on-failure --timeout 600 -j "${QWS_TEST_JOBS:-2}" -L "$labels" -E "$exclude"
  echo "sanitize: $dir built and tested in $(( $(date +%s) - start )) s"
}

for stage in "${STAGES[@]}"; do
  case $stage in
    asan)
      # halt_on_error: the first report ends the process with a failure; leaks are reported at exit.
      # vptr off: the check reads the object's memory through a pipe, so once a test has used up its
      # descriptors (tst_limits: EMFILE on purpose) every QDebug call reports a false "invalid vptr".
      # QWS_SANITIZE is expanded unquoted into add_compile_options: ';' adds a second flag.
      # inspector_qml (labels qml;examples) loads the inspector app, which this tree does not build.
      ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:${ASAN_OPTIONS:-}" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}" \
        run_stage "${QWS_ASAN_DIR:-build-asan}" 'address,undefined;-fno-sanitize=vptr' 'protocol|server|tls|qml' '' \
          '^inspector_qml$' ;;
    tsan)
      # die_after_fork=0: QProcess (openssl, python3, node clients) forks from a threaded process and
      # execs at once; TSan would otherwise kill the child.
      # tst_selfsigned is single-threaded (key generation) and asserts a 50 ms bound TSan cannot meet.
      TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:suppressions=$ROOT/tests/tsan.supp:${TSAN_OPTIONS:-}" \
        run_stage "${QWS_TSAN_DIR:-build-tsan}" thread server '' '^tst_selfsigned$' ;;
    *) echo "sanitize: unknown stage $stage (asan, tsan)" >&2; exit 2 ;;
  esac
done
