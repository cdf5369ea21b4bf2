#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs (idempotently) every Debian 12 package QuickWebSockets needs to build, test and benchmark.
# Runs as root, or through sudo when available. Only missing packages are installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer + sanitizer runtimes
  # Qt 6.4 + the QML module's runtime pieces
  qt6-base-dev qt6-base-dev-tools qt6-declarative-dev qt6-declarative-dev-tools
  qt6-qpa-plugins libgl-dev libxkbcommon-dev
  qml6-module-qtquick qml6-module-qtqml-workerscript qml6-module-qtquick-window
  qml6-module-qtquick-controls qml6-module-qtquick-templates qml6-module-qtquick-layouts
  qml6-module-qtquick-dialogs qml6-module-qtqml-models qml6-module-qttest qml6-module-qtcore
  # protocol dependencies
  libssl-dev zlib1g-dev openssl
  # test-only real clients
  qt6-websockets-dev qml6-module-qtwebsockets python3 python3-websockets nodejs node-ws chromium
  # benchmarks
  libbenchmark-dev
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: run as root or install sudo" >&2; exit 1; fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
