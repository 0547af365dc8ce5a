#!/usr/bin/env bash
# Installs what Veilgate needs to build, test and run, and nothing twice: safe to run again and again.
# Called by `make demo`, `make test` and `make bench`.
set -euo pipefail

# Debian 12 packages. Keep this list the single place where system dependencies are named.
APT_PACKAGES=(
  git make pkg-config ca-certificates python3 python3-pip
  libsodium-dev libsqlite3-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg libjpeg62-turbo-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev libopencv-objdetect-dev opencv-data
  # The console: its policy editor (CodeMirror), and the browser its tests drive (with operator certificates).
  libjs-codemirror libjs-leaflet openssl chromium chromium-driver python3-selenium libnss3-tools fonts-dejavu-core
)

say() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Swift is not packaged for Debian 12; Veilgate expects the swift.org toolchain (6.2 or newer: Package.swift uses
# swift-tools-version 6.2).
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    say "no Swift toolchain found. Install Swift 6.2+ for Debian 12 from swift.org into /opt/swift"
    say "(so that /opt/swift/usr/bin/swift exists), then run this command again."
    exit 1
  fi
fi
version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\)\.\([0-9]*\).*/\1.\2/p' | head -1)
major=${version%%.*}; minor=${version#*.}
if [ -z "$version" ] || [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 2 ]; }; then
  say "Swift ${version:-unknown} found; Veilgate needs Swift 6.2 or newer"
  exit 1
fi

# Detector models (outside git, pinned digests).
"$(dirname "$0")/fetch-models.sh"
