# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the build scripts: qws_generator DIR sets GEN to the cmake generator arguments for the build
# tree DIR — Ninja when it is installed, unless DIR was already configured with Makefiles (cmake refuses
# to switch the generator of an existing tree).
# shellcheck disable=SC2034  # GEN is read by the sourcing script
qws_generator() {
  GEN=()
  if command -v ninja >/dev/null && [ ! -f "$1/Makefile" ]; then GEN=(-G Ninja); fi
}
