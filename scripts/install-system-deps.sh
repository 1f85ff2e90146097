#!/usr/bin/env bash
# Installs the Debian 12 packages ome needs, only those that are missing.
# Used by `make install` (and so by `make run` and `make test`); safe to re-run.
set -euo pipefail

PKGS=(
  # build of the native core and the venv
  python3-venv python3-dev gcc make pkg-config libffi-dev
  # libav* for the transcoder and SRT (libsrt-gnutls: same flavour as Debian's libavformat)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libsrt-gnutls-dev
  # runtime: embedded Redis for persisted API state
  redis-server
  # real peers used by the tests and benchmarks
  ffmpeg srt-tools
  # fuzzing (libFuzzer + ASan) and API load generation
  clang libclang-rt-14-dev wrk
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
