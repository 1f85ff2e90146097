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
  # real peers used by the tests and benchmarks: publishers, the player (Chromium + hls.js),
  # nginx as the static-serving anchor and nginx-rtmp as a push target
  ffmpeg srt-tools chromium nginx-light libnginx-mod-rtmp
  # curl (with nghttp2): an independent HTTP/2 client for the TLS port
  curl
  # fuzzing (libFuzzer + ASan) and API load generation
  clang libclang-rt-14-dev wrk
)

# Node.js + npm drive hls.js in Chromium. Keep an existing Node (e.g. NodeSource's, which bundles
# npm and conflicts with Debian's npm package); otherwise take Debian's.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

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
