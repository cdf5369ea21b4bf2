#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time.
#   scripts/fuzz.sh [seconds-per-target]   (default 20)
# Each target runs on a scratch corpus (build-fuzz/corpus/<name>/, where new inputs land) seeded by the
# repo's tests/fuzz/corpus/<name>/; afterwards the inputs that add coverage are merged back into the
# repo corpus (-merge=1), so a developer's run grows it and the growth is committed. Inputs are capped
# at QWS_FUZZ_MAX_LEN bytes (default 4096). QWS_FUZZ_MERGE=0 skips the merge. In CI (a clean clone)
# the merge only touches the working tree. Any crash, leak or sanitizer report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-20}
MAX_LEN=${QWS_FUZZ_MAX_LEN:-4096}
BUILD_DIR=${QWS_FUZZ_BUILD_DIR:-build-fuzz}
. scripts/generator.sh; qws_generator "$BUILD_DIR"
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DQWS_BUILD_FUZZ=ON -DQWS_BUILD_QT=OFF -DQWS_BUILD_TESTS=OFF -DQWS_BUILD_EXAMPLES=OFF -DQWS_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for bin in "$BUILD_DIR"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  mkdir -p "$BUILD_DIR/corpus/$name" "$BUILD_DIR/artifacts/$name" "tests/fuzz/corpus/$name"
  echo "fuzz: $name for ${SECONDS_PER}s"
  if ! "$bin" -max_total_time="$SECONDS_PER" -max_len="$MAX_LEN" -print_final_stats=1 \
       -artifact_prefix="$BUILD_DIR/artifacts/$name/" \
       "$BUILD_DIR/corpus/$name" "tests/fuzz/corpus/$name" > "$BUILD_DIR/fuzz-$name.log" 2>&1; then
    echo "fuzz: $name FAILED — see $BUILD_DIR/fuzz-$name.log"; tail -40 "$BUILD_DIR/fuzz-$name.log"; status=1
    continue
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$BUILD_DIR/fuzz-$name.log" | tr '\n' ' '; echo
  if [ "${QWS_FUZZ_MERGE:-1}" != "0" ]; then
    # Only what adds coverage to the repo corpus is copied into it (named by content hash).
    before=$(find "tests/fuzz/corpus/$name" -type f | wc -l)
    if "$bin" -merge=1 -max_len="$MAX_LEN" "tests/fuzz/corpus/$name" "$BUILD_DIR/corpus/$name" \
         > "$BUILD_DIR/merge-$name.log" 2>&1; then
      echo "fuzz: $name corpus $before -> $(find "tests/fuzz/corpus/$name" -type f | wc -l) inputs"
    else
      echo "fuzz: $name merge FAILED — see $BUILD_DIR/merge-$name.log"; tail -20 "$BUILD_DIR/merge-$name.log"; status=1
    fi
  fi
done
exit $status
