#!/usr/bin/env bash
# Builds the Debian package of Veilgate from an already built `veilgate` binary:
#   scripts/deb/build.sh [--config debug|release] [--out DIR] [--no-strip]
# prints the path of DIR/veilgate_VERSION_ARCH.deb on standard output (progress goes to standard error).
# `make deb` builds the release binary first and calls this; `make deb-test` builds a debug package and installs it.
#
# Layout of the package (the systemd unit and docs/operations.md refer to these paths):
#   /usr/bin/veilgate                       sh wrapper: points the loader at the bundled Swift runtime, then execs
#   /usr/lib/veilgate/bin/veilgate          the program
#   /usr/lib/veilgate/lib/*.so              the Swift runtime it links (Debian 12 has no Swift packages)
#   /usr/share/veilgate/models/             detector models ($VEILGATE_MODELS)
#   /lib/systemd/system/veilgate.service    scripts/systemd/veilgate.service, unchanged
#   /etc/veilgate/policies/                 the example policy bundle (conffiles), to be edited and signed by the DPO
#   /usr/share/doc/veilgate/                README.md, operations.md, copyright, changelog.gz
# System libraries (FFmpeg, OpenCV, libsodium, SQLite, ...) become Depends, computed by dpkg-shlibdeps.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: scripts/deb/build.sh [--config debug|release] [--out DIR] [--no-strip]
  --config   which build to package: .build/release/veilgate (default) or .build/debug/veilgate
  --out      where the .deb goes (default: .build/deb)
  --no-strip keep the debugging sections (by default they are stripped from the packaged copy, as dh_strip would)
USAGE
}

config=release
out=
strip=yes
while [ $# -gt 0 ]; do
  case $1 in
    --config) config=${2:-}; shift 2 || { usage; exit 2; } ;;
    --config=*) config=${1#*=}; shift ;;
    --out) out=${2:-}; shift 2 || { usage; exit 2; } ;;
    --out=*) out=${1#*=}; shift ;;
    --no-strip) strip=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deb: unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done

started=$(date +%s)
say() { printf 'deb: [%3ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
die() { printf 'deb: error: %s\n' "$*" >&2; exit 1; }

case $config in
  release) make_target="make deb (it runs: swift build -c release --product veilgate)" ;;
  debug) make_target="make build (it runs: swift build --product veilgate)" ;;
  *) die "--config must be debug or release, not '$config'" ;;
esac

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
out=${out:-.build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-deb dpkg-shlibdeps ldd strip gzip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install dpkg-dev binutils)"
done

# --- the binary ------------------------------------------------------------------------------------------------
# Another build may relink .build/CONFIG/veilgate while we read it: wait until it exists and has not changed for a
# second, copy it, and accept the copy only if it still equals the file (otherwise try again). While a SwiftPM build
# holds .build/.lock we wait for it (up to 10 minutes); otherwise a missing binary is an error after a few seconds.
binary=.build/$config/veilgate
work=$(mktemp -d "${TMPDIR:-/tmp}/veilgate-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/veilgate/bin" "$stage/usr/lib/veilgate/lib"
building() {
  local pid
  pid=$(cat .build/.lock 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == swift* ]]
}
copied=
waited=0
while [ "$waited" -lt 600 ]; do
  if [ ! -f "$binary" ]; then
    if building; then
      [ $((waited % 30)) -eq 0 ] && say "$binary is missing and a Swift build is running (pid $(cat .build/.lock)): waiting for it"
    elif [ "$waited" -ge 6 ]; then
      die "$binary not found: build it first with $make_target"
    fi
    sleep 2
    waited=$((waited + 2))
    continue
  fi
  before=$(stat -c '%s %Y' "$binary")
  sleep 1
  waited=$((waited + 1))
  [ "$before" = "$(stat -c '%s %Y' "$binary" 2>/dev/null)" ] || { say "$binary is changing, waiting"; continue; }
  cp "$binary" "$stage/usr/lib/veilgate/bin/veilgate"
  if cmp -s "$binary" "$stage/usr/lib/veilgate/bin/veilgate" && [ "$before" = "$(stat -c '%s %Y' "$binary" 2>/dev/null)" ]; then
    copied=yes
    break
  fi
  say "$binary changed while being copied, trying again"
done
[ -n "$copied" ] || die "no stable copy of $binary after 10 minutes (is a build still running?)"
if building; then
  say "note: a Swift build is running (pid $(cat .build/.lock)); packaging the $binary of $(date -r "$binary" '+%H:%M:%S')"
fi
program=$stage/usr/lib/veilgate/bin/veilgate
say "copied $binary ($(du -h "$program" | cut -f1))"

# --- the Swift runtime -----------------------------------------------------------------------------------------
# Bundle exactly the libraries the loader takes from the Swift toolchain's runtime folder (the one libswiftCore.so
# resolves to: /opt/swift/usr/lib/swift/linux for the swift.org toolchain); everything else comes from Debian.
ldd_out=$(ldd "$program") || die "ldd $program failed"
if grep -q 'not found' <<<"$ldd_out"; then
  die "the binary has unresolved libraries here:"$'\n'"$(grep 'not found' <<<"$ldd_out")"
fi
swiftcore=$(awk '$1 == "libswiftCore.so" { print $3 }' <<<"$ldd_out")
[ -n "$swiftcore" ] || die "ldd does not show libswiftCore.so: is $binary a dynamically linked Swift program?"
runtime_dir=$(dirname "$(readlink -f "$swiftcore")")
bundled=()
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] || continue
  if [ "$(dirname "$(readlink -f "$path")")" = "$runtime_dir" ]; then
    install -m 0644 "$(readlink -f "$path")" "$stage/usr/lib/veilgate/lib/$name"
    bundled+=("$name")
  fi
done <<<"$ldd_out"
say "bundled ${#bundled[@]} Swift runtime libraries from $runtime_dir ($(du -sh "$stage/usr/lib/veilgate/lib" | cut -f1))"

if [ "$strip" = yes ]; then
  # Drop DWARF and the Swift AST (for debuggers only); keep the symbol table so crash backtraces stay readable.
  strip --strip-debug --remove-section=.swift_ast "$program"
  say "stripped debugging sections: $(du -h "$program" | cut -f1)"
fi
chmod 0755 "$program"

# The packaged copy must run on the bundled runtime alone. Its RUNPATH names the toolchain's folder, but
# LD_LIBRARY_PATH is searched before RUNPATH, so this proves the bundled copies load and are complete.
version=$(LD_LIBRARY_PATH=$stage/usr/lib/veilgate/lib "$program" --version) || die "the packaged binary does not run"
[[ $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "unexpected version '$version' from $binary --version"
leaked=$(LD_LIBRARY_PATH=$stage/usr/lib/veilgate/lib ldd "$program" | awk -v d="$runtime_dir/" 'index($3, d) == 1 { print $1 }')
[ -z "$leaked" ] || die "still resolved from $runtime_dir despite the bundle: $leaked"
arch=$(dpkg --print-architecture)
say "veilgate $version for $arch ($config build)"

# --- the wrapper -----------------------------------------------------------------------------------------------
cat >"$stage/usr/bin/veilgate" <<'WRAPPER'
#!/bin/sh
# Veilgate brings its own Swift runtime (Debian has none): let the loader find it, then run the program.
# The detector models default to the packaged ones (the systemd unit sets VEILGATE_MODELS itself).
LD_LIBRARY_PATH=/usr/lib/veilgate/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
VEILGATE_MODELS=${VEILGATE_MODELS:-/usr/share/veilgate/models}
export LD_LIBRARY_PATH VEILGATE_MODELS
exec /usr/lib/veilgate/bin/veilgate "$@"
WRAPPER
chmod 0755 "$stage/usr/bin/veilgate"

# --- models, unit, configuration, docs -------------------------------------------------------------------------
models=$repo/.cache/models
say "checking the detector models (scripts/fetch-models.sh: pinned digests, fetches what is missing)"
VEILGATE_MODELS=$models scripts/fetch-models.sh >&2 || die "scripts/fetch-models.sh failed"
install -d -m 0755 "$stage/usr/share/veilgate/models"
for model in centerface.onnx yunet-2023mar.onnx ppocr-det-cv46.onnx ppocr-rec-cv46.onnx ppocr-rec-keys.txt \
  ssdlite-pedestrian.pb ssdlite-pedestrian.pbtxt yolov3-tiny.cfg yolov3-tiny.weights; do
  [ -f "$models/$model" ] || die "$models/$model is missing after scripts/fetch-models.sh"
  install -m 0644 "$models/$model" "$stage/usr/share/veilgate/models/$model"
done

install -D -m 0644 scripts/systemd/veilgate.service "$stage/lib/systemd/system/veilgate.service"

# The example policy bundle, every file of policies/ (policy and its tests; a bundle is signed as a whole).
install -d -m 0755 "$stage/etc/veilgate" "$stage/etc/veilgate/policies"
: >"$stage/DEBIAN/conffiles"
for file in policies/*; do
  [ -f "$file" ] || continue
  install -m 0644 "$file" "$stage/etc/veilgate/policies/"
  echo "/etc/veilgate/policies/$(basename "$file")" >>"$stage/DEBIAN/conffiles"
done
[ -s "$stage/DEBIAN/conffiles" ] || die "policies/ has no files"
# The installed bundle must lint where it is installed (paths it names are absolute, but check it all the same).
LD_LIBRARY_PATH=$stage/usr/lib/veilgate/lib "$program" policy lint "$stage/etc/veilgate/policies" 2>&1 \
  | sed "s|$stage||g; s/^/  policy lint: /" >&2 || die "the example policy does not lint"

doc=$stage/usr/share/doc/veilgate
install -d -m 0755 "$doc"
install -m 0644 README.md docs/operations.md "$doc/"
cp scripts/deb/copyright "$doc/copyright"
# The Swift runtime's licence, from the toolchain the runtime was copied from, as DEP-5 wants it (indented, "." for
# blank lines).
swift_license=$(readlink -f "$runtime_dir/../../../share/swift/LICENSE.txt" 2>/dev/null || true)
if [ -n "$swift_license" ] && [ -f "$swift_license" ]; then
  { echo; echo "License: Apache-2.0-with-Swift-exception"; sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$swift_license"; } >>"$doc/copyright"
else
  say "warning: the toolchain's LICENSE.txt was not found; copyright names the licence without its text"
fi
chmod 0644 "$doc/copyright"
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
maintainer=${maintainer:-Veilgate maintainers <veilgate@localhost>}
{
  echo "veilgate ($version) unstable; urgency=medium"
  echo
  echo "  * Package built from the $config build of $(git rev-parse --short HEAD 2>/dev/null || echo 'a working tree')."
  echo
  echo " -- $maintainer  $(date -R)"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# --- maintainer scripts ----------------------------------------------------------------------------------------
for script in postinst prerm postrm; do
  install -m 0755 "scripts/deb/$script" "$stage/DEBIAN/$script"
done

# --- Depends ---------------------------------------------------------------------------------------------------
# dpkg-shlibdeps wants a debian/control in its working directory. The staged tree has DEBIAN/, so it is taken as
# the package being built: the bundled libraries are found in it (-l) and give no dependency; everything else
# resolves to the Debian package that ships it.
say "computing Depends with dpkg-shlibdeps"
mkdir -p "$work/src/debian"
printf 'Source: veilgate\n\nPackage: veilgate\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -l/usr/lib/veilgate/lib \
  "$program" "$stage"/usr/lib/veilgate/lib/*.so 2>"$work/shlibdeps.log") \
  || { cat "$work/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
# Expected: the bundled libraries have unversioned sonames ("can't extract name and version"); show the rest.
for name in "${bundled[@]}"; do
  grep -vF "from library name '$name'" "$work/shlibdeps.log" >"$work/shlibdeps.rest" || true
  mv "$work/shlibdeps.rest" "$work/shlibdeps.log"
done
sort -u "$work/shlibdeps.log" | sed -e "s|$stage||g" -e 's/^/  /' >&2
shlibs_depends=$(sed -n 's/^shlibs:Depends=//p' <<<"$shlibs")
[ -n "$shlibs_depends" ] || die "dpkg-shlibdeps found no dependencies"
# adduser: postinst creates the veilgate user with it.
depends="adduser, $shlibs_depends"

# --- control, checksums, build ---------------------------------------------------------------------------------
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
build_note=
[ "$config" = release ] || build_note=$'\n .\n This package holds a debug build (unoptimised), for testing the package.'
cat >"$stage/DEBIAN/control" <<CONTROL
Package: veilgate
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: libjs-codemirror, libjs-leaflet
Section: net
Priority: optional
Description: privacy-first video federation gateway
 Veilgate analyses and redacts camera feeds on site, keeps recordings under
 encrypted retention governed by declarative GDPR policies, and shares only
 what a policy authorises with partners over mutual TLS, recording every
 decision in a tamper-evident audit log.
 .
 The package installs the veilgate command with its own copy of the Swift
 runtime, the detector models, a systemd unit (not enabled: the policy must
 be signed first, see /usr/share/doc/veilgate/operations.md) and the example
 policy in /etc/veilgate/policies.$build_note
CONTROL
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"
# md5sums: every file but the conffiles (dpkg keeps their sums itself), as dh_md5sums does.
(cd "$stage" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

# Modes do not depend on the caller's umask: directories 0755, files as installed above.
find "$stage" -type d -exec chmod 0755 {} +

deb=$out/veilgate_${version}_${arch}.deb
say "building $deb"
# xz is most of the build's time; the install test sets VEILGATE_DEB_COMPRESSION=gzip (a throw-away package).
dpkg-deb --root-owner-group -Z"${VEILGATE_DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >&2
if command -v lintian >/dev/null 2>&1; then
  say "lintian:"
  lintian --no-tag-display-limit "$deb" >&2 || say "lintian reported problems (above)"
fi
say "done: $(du -h "$deb" | cut -f1), Depends: $depends"
echo "$deb"
