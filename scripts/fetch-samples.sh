#!/usr/bin/env bash
# Sample footage for `make demo`, from Debian's opencv-doc package (the same files as ../shared/data/video):
# downloaded, not installed, and unpacked into .cache/samples (outside git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
samples=.cache/samples
[ -f "$samples/vtest.avi" ] && exit 0
mkdir -p "$samples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "samples: downloading Debian's opencv-doc (about 96 MB) for its sample videos"
(cd "$work" && apt-get download -q opencv-doc >/dev/null 2>&1 || { apt-get update -qq && apt-get download -q opencv-doc; })
dpkg-deb -x "$work"/opencv-doc_*.deb "$work/x"
for name in vtest.avi Megamind.avi; do
  found=$(find "$work/x" -name "$name" | head -1)
  [ -n "$found" ] && cp "$found" "$samples/$name"
done
[ -f "$samples/vtest.avi" ] || { echo "samples: vtest.avi not found in opencv-doc"; exit 1; }
echo "samples: $samples/vtest.avi"
