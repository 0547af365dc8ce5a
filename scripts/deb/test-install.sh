#!/usr/bin/env bash
# Installs a Veilgate .deb on this machine the way an operator would, sets the gateway up as docs/operations.md
# says, starts it exactly as the installed systemd unit would (its ExecStart, Environment, User, Group, UMask; via
# runuser, since containers have no running systemd), checks it, stops it, and purges everything again:
#   scripts/deb/test-install.sh .build/deb/veilgate_VERSION_ARCH.deb
# Prints "ok: …" / "FAIL: …" per check; exits 0 only if all passed, 77 when not root (skipped).
# It refuses to run where Veilgate is installed or its user or folders exist: its cleanup deletes them.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: the install test needs root (it installs a package and creates a system user)"
  exit 77
fi
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 PATH/veilgate_VERSION_ARCH.deb" >&2
  exit 2
fi
deb=$(readlink -f "$1")

CLEAN_PATH=/usr/sbin:/usr/bin:/sbin:/bin       # a new user's PATH: no /opt/swift, no /usr/local
UNIT=/lib/systemd/system/veilgate.service
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# check "what" command...: runs the command quietly, ok or FAIL with its output.
check() {
  local what=$1 output
  shift
  if output=$("$@" 2>&1); then ok "$what"; else fail "$what"; [ -z "$output" ] || sed 's/^/    /' <<<"$output"; fi
}
fatal() { fail "$*"; echo "stopping here: the remaining checks depend on this one"; exit 1; }

t0=$(date +%s)
t_phase=$t0
phase_name=
timings=()
# phase NAME: starts a step; the time each step took is summed up at the end.
phase() {
  local now
  now=$(date +%s)
  [ -z "$phase_name" ] || timings+=("$phase_name $((now - t_phase))s")
  phase_name=$*
  t_phase=$now
  echo "== $*"
}

# --- refuse to touch a real installation -------------------------------------------------------------------------
phase "preconditions"
for thing in /var/lib/veilgate /var/log/veilgate /etc/veilgate /usr/lib/veilgate; do
  if [ -e "$thing" ]; then
    echo "FAIL: $thing exists already; this test would delete it. Run it on a machine without Veilgate."
    exit 1
  fi
done
if getent passwd veilgate >/dev/null || getent group veilgate >/dev/null; then
  echo "FAIL: a user or group veilgate exists already; this test would delete it."
  exit 1
fi
if dpkg-query -W -f='${Status}' veilgate 2>/dev/null | grep -qv not-installed; then
  echo "FAIL: the package veilgate is installed (or its configuration is left); purge it first."
  exit 1
fi
version=$(dpkg-deb -f "$deb" Version)
package=$(dpkg-deb -f "$deb" Package)
[ "$package" = veilgate ] || fatal "$deb is the package '$package', not veilgate"
ok "$(basename "$deb"): veilgate $version, $(du -h "$deb" | cut -f1)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/veilgate-install-test.XXXXXX")
chmod 0755 "$tmp"
gateway=
runner=
armed=yes       # from here on, cleanup removes the package, the user and the folders (none existed before)

cleanup() {
  local rc=$?
  set +e
  if [ -n "$gateway" ] && kill -0 "$gateway" 2>/dev/null; then
    kill -TERM "$gateway" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$gateway" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$gateway" 2>/dev/null
  fi
  if [ -n "$runner" ]; then kill "$runner" 2>/dev/null; wait "$runner" 2>/dev/null; fi
  if [ -n "$armed" ]; then
    if dpkg-query -W -f='${Status}' veilgate 2>/dev/null | grep -qv not-installed; then
      echo "cleanup: purging veilgate"
      DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq veilgate >/dev/null 2>&1 || dpkg --purge veilgate >/dev/null 2>&1
    fi
    rm -rf /var/lib/veilgate /var/log/veilgate /etc/veilgate
    getent passwd veilgate >/dev/null && userdel veilgate
    getent group veilgate >/dev/null && groupdel veilgate
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- install -----------------------------------------------------------------------------------------------------
phase "install"
# apt-get resolves the Depends (from the archive if something is missing); dpkg -i is the fallback without apt.
if DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$tmp/install.log" 2>&1; then
  ok "apt-get install -y $(basename "$deb")"
elif DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >>"$tmp/install.log" 2>&1; then
  ok "dpkg -i $(basename "$deb") (apt-get install failed: see below)"
  sed 's/^/    /' "$tmp/install.log" | tail -20
else
  sed 's/^/    /' "$tmp/install.log" | tail -30
  fatal "the package does not install"
fi
status=$(dpkg-query -W -f='${Status} ${Version}' veilgate 2>/dev/null || true)
[ "$status" = "install ok installed $version" ] || fatal "dpkg says '$status', not installed $version"
ok "dpkg: $status"
check "postinst points the operator at operations.md" grep -q /usr/share/doc/veilgate/operations.md "$tmp/install.log"

uid=$(id -u veilgate 2>/dev/null) || fatal "postinst did not create the user veilgate"
check "veilgate is a system user (uid $uid) with group veilgate, home /var/lib/veilgate, no login shell" \
  bash -c '[ "$(id -gn veilgate)" = veilgate ] && [ "$1" -lt 1000 ] &&
           [ "$(getent passwd veilgate | cut -d: -f6)" = /var/lib/veilgate ] &&
           [ "$(getent passwd veilgate | cut -d: -f7)" = /usr/sbin/nologin ]' _ "$uid"
check "/var/lib/veilgate is veilgate:veilgate 0700" test "$(stat -c '%U:%G %a' /var/lib/veilgate)" = "veilgate:veilgate 700"
check "/var/log/veilgate is veilgate:veilgate 0750" test "$(stat -c '%U:%G %a' /var/log/veilgate)" = "veilgate:veilgate 750"
check "nothing runs as veilgate after install (the service is not started)" bash -c '! pgrep -u veilgate >/dev/null'
conffiles=$(dpkg-query -W -f='${Conffiles}' veilgate)
check "the example policy is a conffile" grep -q '/etc/veilgate/policies/city-centre.yaml' <<<"$conffiles"
check "file modes: program 0755, wrapper 0755, libraries 0644, unit 0644" bash -c '
  [ "$(stat -c %a /usr/lib/veilgate/bin/veilgate)" = 755 ] && [ "$(stat -c %a /usr/bin/veilgate)" = 755 ] &&
  [ "$(stat -c %a /lib/systemd/system/veilgate.service)" = 644 ] &&
  [ -z "$(find /usr/lib/veilgate/lib -type f ! -perm 0644)" ] &&
  [ -z "$(find /usr/lib/veilgate /usr/share/veilgate /usr/share/doc/veilgate /etc/veilgate -type d ! -perm 0755)" ] &&
  [ -z "$(find /usr/lib/veilgate /usr/share/veilgate /usr/share/doc/veilgate /etc/veilgate ! -user root)" ]'
check "models installed in /usr/share/veilgate/models" bash -c '
  for m in centerface.onnx ppocr-det-cv46.onnx ssdlite-pedestrian.pb ssdlite-pedestrian.pbtxt; do
    [ -s /usr/share/veilgate/models/$m ] || exit 1; done'

# --- the command, as a new user has it ----------------------------------------------------------------------------
phase "the veilgate command"
check "veilgate is on a clean PATH, from the package" \
  bash -c '[ "$(env -i PATH='"$CLEAN_PATH"' sh -c "command -v veilgate")" = /usr/bin/veilgate ] && dpkg -S /usr/bin/veilgate | grep -q "^veilgate:"'
got=$(env -i PATH="$CLEAN_PATH" veilgate --version 2>&1 || true)
if [ "$got" = "$version" ]; then ok "veilgate --version says $got (clean environment, no LD_LIBRARY_PATH)"; else fail "veilgate --version says '$got', expected $version"; fi

# The wrapper's LD_LIBRARY_PATH must resolve every library, and none from the toolchain.
ldd_out=$(env -i LD_LIBRARY_PATH=/usr/lib/veilgate/lib ldd /usr/lib/veilgate/bin/veilgate 2>&1 || true)
if grep -q 'not found' <<<"$ldd_out"; then
  fail "libraries not found:"; grep 'not found' <<<"$ldd_out" | sed 's/^/    /'
elif grep -q '/opt/swift' <<<"$ldd_out"; then
  fail "libraries still resolved from /opt/swift:"; grep '/opt/swift' <<<"$ldd_out" | sed 's/^/    /'
else
  ok "ldd under the wrapper's LD_LIBRARY_PATH: all resolved, Swift runtime from /usr/lib/veilgate/lib ($(grep -c /usr/lib/veilgate/lib <<<"$ldd_out") libraries)"
fi

# Better than ldd: run with the toolchain made invisible (an empty tmpfs over /opt/swift in a private mount
# namespace, so the rest of the machine still sees it). The gateway below runs the same way.
hide=()
if [ -d /opt/swift ]; then
  if unshare -m --propagation private sh -c 'mount -t tmpfs -o ro,size=1k tmpfs /opt/swift && [ -z "$(ls -A /opt/swift)" ]' 2>/dev/null; then
    hide=(unshare -m --propagation private sh -c 'mount -t tmpfs -o ro,size=1k tmpfs /opt/swift && exec "$@"' hide)
    got=$("${hide[@]}" env -i PATH="$CLEAN_PATH" veilgate --version 2>&1 || true)
    if [ "$got" = "$version" ]; then ok "veilgate --version with /opt/swift hidden"; else fail "with /opt/swift hidden, veilgate --version says: $got"; fi
  else
    echo "note: cannot hide /opt/swift here (unshare -m not permitted); relying on the ldd check"
  fi
else
  ok "no /opt/swift on this machine: the bundled runtime is the only one"
fi

# The detector models: the wrapper points VEILGATE_MODELS at /usr/share/veilgate/models, so `veilgate redact` works
# from anywhere without setup. A generated PNG (python3's standard library) is enough to load every model.
if command -v python3 >/dev/null 2>&1; then
  install -d -o veilgate -g veilgate -m 0700 "$tmp/redact"
  python3 - "$tmp/redact/in.png" <<'PY'
import struct, sys, zlib
w, h = 320, 240
rows = b"".join(b"\x00" + b"".join(bytes(((x * 255) // w, (y * 255) // h, 128)) for x in range(w)) for y in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
  chown veilgate:veilgate "$tmp/redact/in.png"
  redact_image() {
    (cd / && ${hide[@]+"${hide[@]}"} runuser -u veilgate -- env -i PATH="$CLEAN_PATH" \
      veilgate redact "$tmp/redact/in.png" -o "$tmp/redact/out.png" --policy /etc/veilgate/policies) \
      && [ -s "$tmp/redact/out.png" ]
  }
  check "veilgate redact an image with the packaged models (as veilgate, no VEILGATE_MODELS set${hide:+, /opt/swift hidden})" redact_image
else
  echo "note: no python3 to make a test image; veilgate redact not tried"
fi

# --- the unit ------------------------------------------------------------------------------------------------------
phase "the systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  check "systemd-analyze verify $UNIT" systemd-analyze verify "$UNIT"
  exposure=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p')
  if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    ok "systemd-analyze security: exposure $exposure"
  else
    fail "systemd-analyze security: exposure '${exposure:-?}' (expected 2.0 or less)"
  fi
else
  echo "note: no systemd-analyze here; unit not verified"
fi

# ExecStart (with its continuation lines), Environment, User, Group, UMask, WorkingDirectory, as the unit has them.
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
exec_start=$(awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=/, "") }
                  on { more = sub(/\\$/, ""); line = line " " $0; if (!more) { print line; exit } }' "$UNIT")
exec_start=$(sed -e 's/^[[:space:]]*//' -e 's/^[-@:+!]*//' <<<"$exec_start")
if grep -q '["'"'"'%$]' <<<"$exec_start" || grep -q '^EnvironmentFile=' "$UNIT" || grep '^Environment=' "$UNIT" | grep -q '["'"'"'%$]'; then
  fatal "the unit uses quoting, specifiers, variables or an EnvironmentFile: extend this test's unit parser"
fi
read -r -a command <<<"$exec_start"
env_assignments=()
while read -r line; do
  read -r -a words <<<"$line"
  env_assignments+=("${words[@]}")
done < <(sed -n 's/^Environment=//p' "$UNIT")
user=$(unit_value User)
group=$(unit_value Group)
umask_value=$(unit_value UMask)
workdir=$(unit_value WorkingDirectory)
[ "$user" = veilgate ] || fatal "the unit runs as '$user', not veilgate"
ok "unit: User=$user Group=${group:-$user} UMask=${umask_value:-0022} ExecStart=${command[*]}"

# Ports: the unit's, unless taken here.
port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
  local p
  if port_free "$1"; then echo "$1"; return; fi
  for p in $(shuf -i 20000-60000 -n 100); do
    [ "$p" != "${2:-}" ] && port_free "$p" && { echo "$p"; return; }
  done
  return 1
}
port= health_port= host=
for i in "${!command[@]}"; do
  case ${command[$i]} in
    --port) port=${command[$((i + 1))]} ;;
    --health-port) health_port=${command[$((i + 1))]} ;;
    --host) host=${command[$((i + 1))]} ;;
  esac
done
[ -n "$port" ] && [ -n "$health_port" ] || fatal "the unit's ExecStart has no --port and --health-port"
new_port=$(free_port "$port") && new_health=$(free_port "$health_port" "$new_port") || fatal "no free port"
for i in "${!command[@]}"; do
  case ${command[$i]} in
    --port) command[$((i + 1))]=$new_port ;;
    --health-port) command[$((i + 1))]=$new_health ;;
  esac
done
[ "$new_port/$new_health" = "$port/$health_port" ] || echo "note: ports $port/$health_port are taken here; using $new_port/$new_health"
port=$new_port
health_port=$new_health

# Paths the gateway will use, from the unit's own arguments.
arg() { local i; for i in "${!command[@]}"; do [ "${command[$i]}" = "$1" ] && { echo "${command[$((i + 1))]}"; return; }; done; }
state=$(arg --state)
certs=$(arg --certs)
policy=$(arg --policy)
policy_key=$(arg --policy-key)
[ -n "$state" ] && [ -n "$certs" ] && [ -n "$policy" ] && [ -n "$policy_key" ] \
  || fatal "the unit's ExecStart lacks --state, --certs, --policy or --policy-key"

# --- set up, as operations.md tells the operator ------------------------------------------------------------------
phase "setup as the operator"
as_veilgate() { (cd / && runuser -u veilgate -- env -i PATH="$CLEAN_PATH" HOME=/var/lib/veilgate veilgate "$@"); }
as_root() { (cd / && env -i PATH="$CLEAN_PATH" veilgate "$@"); }
check "veilgate vault init --state $state (as veilgate)" as_veilgate vault init --state "$state"
check "veilgate certs init --certs $certs (as veilgate)" as_veilgate certs init --certs "$certs" --site "Install test"
check "the example policy lints from $policy (as veilgate)" as_veilgate policy lint "$policy"
check "its own tests pass (as veilgate)" as_veilgate policy test "$policy"
# The DPO's key stays off the gateway (here: a folder of the test); the gateway gets the public key and the
# signature next to the bundle.
check "veilgate policy keygen (the DPO, off the gateway)" as_root policy keygen --out "$tmp/dpo"
check "veilgate policy sign $policy" as_root policy sign "$policy" --key "$tmp/dpo.key"
check "install the DPO's public key as $policy_key" install -m 0644 "$tmp/dpo.pub" "$policy_key"
check "veilgate policy verify (as veilgate)" as_veilgate policy verify "$policy" --public-key "$policy_key"
check "a client certificate for the partner police (as veilgate)" \
  as_veilgate certs issue --certs "$certs" --policy "$policy" --partner police --days 2

# --- start it as the unit would -----------------------------------------------------------------------------------
phase "run as the unit"
log=$tmp/gateway.log
touch "$tmp/started"
# systemd gives a service PATH, HOME, USER, LOGNAME, SHELL and the unit's Environment=, nothing else; cwd / unless
# WorkingDirectory=; the unit's UMask (runuser does not set one, so a sh in between does).
service_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/veilgate USER=veilgate
             LOGNAME=veilgate SHELL=/usr/sbin/nologin "${env_assignments[@]}")
(
  cd "${workdir:-/}"
  exec ${hide[@]+"${hide[@]}"} runuser -u "$user" -g "${group:-$user}" -- env -i "${service_env[@]}" \
    sh -c 'umask "$0" && exec "$@"' "${umask_value:-0022}" "${command[@]}"
) >"$log" 2>&1 </dev/null &
runner=$!
t_start=$(date +%s)

# The gateway is runuser's child (runuser keeps the PAM session): find it once it has exec'd the program.
for _ in $(seq 1 100); do
  for child in $(pgrep -P "$runner" 2>/dev/null); do
    [ "$(readlink "/proc/$child/exe" 2>/dev/null)" = /usr/lib/veilgate/bin/veilgate ] && gateway=$child
  done
  [ -n "$gateway" ] && break
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$gateway" ]; then sed 's/^/    /' "$log"; fatal "the gateway did not start"; fi
ok "the gateway runs (pid $gateway, /usr/lib/veilgate/bin/veilgate)"

healthy=
for _ in $(seq 1 120); do
  kill -0 "$gateway" 2>/dev/null || break
  if curl -fsS --max-time 2 "http://127.0.0.1:$health_port/health" >"$tmp/health" 2>/dev/null \
     && grep -q '"status" *: *"ok"' "$tmp/health"; then healthy=yes; break; fi
  sleep 0.5
done
if [ -z "$healthy" ]; then sed 's/^/    /' "$log"; fatal "no \"status\":\"ok\" from http://127.0.0.1:$health_port/health"; fi
ok "/health answers $(cat "$tmp/health") after $(($(date +%s) - t_start))s"
for _ in $(seq 1 20); do grep -q 'partner API on https://' "$log" && break; sleep 0.5; done
check "it says: $(grep -o 'veilgate .*partner API on https://[^ ]*' "$log" | head -1)" grep -q "partner API on https://${host:-127.0.0.1}:$port " "$log"

check "it runs as uid veilgate ($uid), gid veilgate" bash -c '
  [ "$(awk "/^Uid:/ {print \$2,\$3,\$4,\$5}" /proc/$1/status)" = "$2 $2 $2 $2" ] &&
  [ "$(awk "/^Gid:/ {print \$2,\$3,\$4,\$5}" /proc/$1/status)" = "$3 $3 $3 $3" ] &&
  [ "$(ps -o user= -p $1)" = veilgate ]' _ "$gateway" "$uid" "$(getent group veilgate | cut -d: -f3)"
check "with the unit's arguments" test "$(tr '\0' ' ' <"/proc/$gateway/cmdline" | cut -d' ' -f2-)" = "$(printf '%s ' "${command[@]:1}")"
check "with the unit's Environment (${env_assignments[*]})" bash -c '
  env=$(tr "\0" "\n" <"/proc/$1/environ"); shift
  for a in "$@"; do grep -qxF "$a" <<<"$env" || { echo "missing $a"; exit 1; }; done' _ "$gateway" "${env_assignments[@]}"
check "on the bundled Swift runtime (/proc/PID/maps: /usr/lib/veilgate/lib, nothing from /opt/swift)" bash -c '
  grep -q /usr/lib/veilgate/lib/libswiftCore.so /proc/$1/maps && ! grep -q /opt/swift /proc/$1/maps' _ "$gateway"

# The partner API: mutual TLS refuses a client without a certificate, and serves the police with theirs.
set +e
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$certs/ca.pem" \
  "https://127.0.0.1:$port/v1/cameras" 2>"$tmp/curl.err")
curl_rc=$?
set -e
case $curl_rc in
  35|56) ok "partner API: the site CA verifies the server; no client certificate, no answer (curl: exit $curl_rc)" ;;
  0) if [ "$code" -ge 400 ]; then ok "partner API: no client certificate → HTTP $code"; else fail "partner API answered HTTP $code without a client certificate"; fi ;;
  *) fail "partner API without a client certificate: curl exit $curl_rc: $(cat "$tmp/curl.err")" ;;
esac
partner_cert=$(ls "$certs"/issued/police-*.pem 2>/dev/null | grep -v '\.key' | head -1 || true)
if [ -n "$partner_cert" ] && as_veilgate partner get /v1/cameras --server "https://127.0.0.1:$port" \
     --cert "$partner_cert" --ca "$certs/ca.pem" >"$tmp/cameras.json" 2>"$tmp/partner.err" \
   && grep -q market-square "$tmp/cameras.json"; then
  ok "partner police: GET /v1/cameras lists $(grep -o '"market-square"\|"station-forecourt"\|"mall-entrance"' "$tmp/cameras.json" | sort -u | tr '\n' ' ')"
else
  fail "partner police: GET /v1/cameras"; sed 's/^/    /' "$tmp/partner.err" "$tmp/cameras.json" 2>/dev/null
fi

# SIGHUP is the unit's ExecReload.
kill -HUP "$gateway"
sleep 2
check "SIGHUP (ExecReload): 'policy reloaded', still running and healthy" bash -c '
  grep -q "policy reloaded" "$3" && kill -0 $1 &&
  curl -fsS --max-time 2 http://127.0.0.1:$2/health | grep -q "\"status\" *: *\"ok\""' _ "$gateway" "$health_port" "$log"

# What it wrote is the veilgate user's.
check "$state/policy-accepted.json records the accepted policy" test -s "$state/policy-accepted.json"
not_owned=$(find /var/lib/veilgate /var/log/veilgate \( ! -user veilgate -o ! -group veilgate \) -printf '%u:%g %p\n')
if [ -z "$not_owned" ]; then
  ok "every file in /var/lib/veilgate and /var/log/veilgate is veilgate:veilgate ($(find /var/lib/veilgate /var/log/veilgate | wc -l) entries)"
else
  fail "not owned by veilgate:"; sed 's/^/    /' <<<"$not_owned"
fi
readable=$(find /var/lib/veilgate /var/log/veilgate -newer "$tmp/started" -type f -perm /044 -printf '%m %p\n')
written=$(find /var/lib/veilgate /var/log/veilgate -newer "$tmp/started" -type f | wc -l)
if [ -z "$umask_value" ]; then
  :
elif [ -z "$readable" ]; then
  ok "the $written files it wrote are private (UMask=$umask_value)"
else
  fail "files the gateway wrote are group/world-readable despite UMask=$umask_value:"; sed 's/^/    /' <<<"$readable"
fi

# --- stop -------------------------------------------------------------------------------------------------------------
phase "stop"
kill -TERM "$gateway"
stopped=
for _ in $(seq 1 150); do kill -0 "$gateway" 2>/dev/null || { stopped=yes; break; }; sleep 0.2; done
if [ -n "$stopped" ]; then
  set +e
  wait "$runner"
  rc=$?
  set -e
  runner=
  gateway=
  if [ "$rc" -eq 0 ]; then ok "SIGTERM: it exits with status 0"; else fail "SIGTERM: exit status $rc"; sed 's/^/    /' "$log" | tail -20; fi
  check "its log ends with 'veilgate stopped'" grep -q 'veilgate stopped' "$log"
  # The audit anchor (checkpoints of the audit log) goes where the unit's Environment says.
  anchor=$(printf '%s\n' "${env_assignments[@]}" | sed -n 's/^VEILGATE_AUDIT_ANCHOR=//p')
  if [ -n "$anchor" ]; then
    check "the audit anchor $anchor is written, owned by veilgate" bash -c '[ -s "$1" ] && [ "$(stat -c %U "$1")" = veilgate ]' _ "$anchor"
  fi
else
  fail "still running 30s after SIGTERM"
fi
echo "gateway log:"
sed 's/^/    /' "$log"
if grep -qiE 'fatal|crash|backtrace' "$log"; then fail "its log mentions a crash:"; grep -iE 'fatal|crash|backtrace' "$log" | sed 's/^/    /'; fi

# The audit log (the partner's request is in it) verifies against the anchor the service kept.
audit_verify() {
  as_veilgate audit verify --state "$state" --policy "$policy" ${anchor:+--anchor "$anchor"}
}
check "veilgate audit verify (as veilgate, with the service's anchor)" audit_verify

# --- upgrade in place -------------------------------------------------------------------------------------------------
phase "reinstall (the upgrade path)"
if DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall "$deb" >"$tmp/reinstall.log" 2>&1; then
  ok "apt-get install --reinstall"
else
  fail "apt-get install --reinstall:"; sed 's/^/    /' "$tmp/reinstall.log" | tail -20
fi
check "the signed bundle and the DPO key are untouched" bash -c '
  [ -s "$1/bundle.sig" ] && [ -s "$2" ] && runuser -u veilgate -- env -i PATH='"$CLEAN_PATH"' veilgate policy verify "$1" --public-key "$2"' \
  _ "$policy" "$policy_key"
check "state still veilgate's, 0700" bash -c '[ "$(stat -c "%U %a" /var/lib/veilgate)" = "veilgate 700" ] &&
  [ -z "$(find /var/lib/veilgate ! -user veilgate)" ]'

# --- purge ------------------------------------------------------------------------------------------------------------
phase "purge"
purge() {
  DEBIAN_FRONTEND=noninteractive apt-get purge -y veilgate >"$tmp/purge.log" 2>&1 \
    || DEBIAN_FRONTEND=noninteractive dpkg --purge veilgate >>"$tmp/purge.log" 2>&1
}
if purge; then
  ok "apt-get purge -y veilgate"
else
  fail "purge failed:"; sed 's/^/    /' "$tmp/purge.log" | tail -20
fi
check "dpkg no longer knows the package" bash -c '! dpkg-query -W -f="\${Status}" veilgate 2>/dev/null | grep -qv not-installed'
check "its files are gone (program, runtime, models, unit, docs, conffiles)" bash -c '
  for f in /usr/bin/veilgate /usr/lib/veilgate /usr/share/veilgate /usr/share/doc/veilgate '"$UNIT"' \
           /etc/veilgate/policies/city-centre.yaml /etc/veilgate/policies/city-centre.test.yaml; do
    [ ! -e "$f" ] || { echo "left: $f"; exit 1; }; done'
check "the user and group veilgate are gone" bash -c '! getent passwd veilgate && ! getent group veilgate'
check "/var/lib/veilgate (keys, recordings) is kept, handed to root" \
  test "$(stat -c '%U %a' /var/lib/veilgate 2>/dev/null)" = "root 700"
check "purge reports what it kept" grep -q 'kept /var/lib/veilgate' "$tmp/purge.log"

# A new install takes the kept state back (a new veilgate user, maybe with another uid).
phase "install over the kept state"
if DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$tmp/install2.log" 2>&1; then
  ok "apt-get install -y, again"
  check "the kept state is veilgate's again (uid $(id -u veilgate))" \
    bash -c '[ -z "$(find /var/lib/veilgate /var/log/veilgate ! -user veilgate -o ! -group veilgate)" ]'
  check "and still verifies (veilgate audit verify)" audit_verify
else
  fail "apt-get install -y, again:"; sed 's/^/    /' "$tmp/install2.log" | tail -20
fi
if purge; then ok "apt-get purge -y veilgate, again"; else fail "second purge failed"; fi
check "the user is gone again, the state kept for root" bash -c '! getent passwd veilgate && [ "$(stat -c %U /var/lib/veilgate)" = root ]'
# What is left is the operator's (and this test's): the state and logs, the signature and public key in /etc.
rm -rf /var/lib/veilgate /var/log/veilgate /etc/veilgate
armed=
check "the machine is as before (no veilgate user, package or folders)" bash -c '
  ! getent passwd veilgate && ! getent group veilgate &&
  for d in /var/lib/veilgate /var/log/veilgate /etc/veilgate /usr/lib/veilgate /usr/share/veilgate; do [ ! -e $d ] || exit 1; done'

phase "done"
echo "times: $(printf '%s, ' "${timings[@]}" | sed 's/, $//')"
echo "$passed passed, $failed failed, in $(($(date +%s) - t0))s"
[ "$failed" -eq 0 ]
