#!/usr/bin/env bash
# `make demo`: Veilgate's policy engine at work on the example city-centre policy.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-output}
veilgate=.build/debug/veilgate
mkdir -p "$out"

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. Lint the example policy (policies/city-centre.yaml)"
show "$veilgate" policy lint policies

step "2. The DPO's own policy tests"
show "$veilgate" policy test policies

step "3. Explain decisions"
show "$veilgate" policy explain --partner police --camera market-square --action live --at 2026-12-04T21:30:00Z
echo
show "$veilgate" policy explain --partner police --camera station-forecourt --action clip \
  --footage-age 24h --justification --at 2026-12-04T21:30:00Z
echo
show "$veilgate" policy explain --partner bakerstreet-mall --camera market-square --action live \
  --at 2026-12-04T21:30:00Z || true
echo
show "$veilgate" policy explain --partner northtown-gateway --camera station-forecourt --action live \
  --at 2026-12-07T14:00:00Z || true

step "4. What a policy change would give or take: the mall asks for loitering alerts"
sed 's/        kinds: \[crowd-count\]/        kinds: [crowd-count, loitering]/' policies/city-centre.yaml > "$out/proposed.yaml"
show "$veilgate" policy diff policies/city-centre.yaml "$out/proposed.yaml" || true

step "5. The record of processing activities (GDPR Art. 30)"
"$veilgate" policy ropa policies --format markdown -o "$out/record-of-processing.md"
"$veilgate" policy ropa policies --format html -o "$out/record-of-processing.html"
sed -n '1,12p' "$out/record-of-processing.md"
echo "…"

step "6. Sign the bundle with a DPO key, verify it, then tamper with it"
rm -rf "$out/bundle" "$out/dpo.key" "$out/dpo.pub"
mkdir -p "$out/bundle" && cp policies/*.yaml "$out/bundle/"
show "$veilgate" policy keygen --out "$out/dpo"
show "$veilgate" policy sign "$out/bundle" --key "$out/dpo.key"
show "$veilgate" policy verify "$out/bundle" --public-key "$out/dpo.pub"
sed -i 's/duration: 72h/duration: 96h/' "$out/bundle/city-centre.yaml"
show "$veilgate" policy verify "$out/bundle" --public-key "$out/dpo.pub" || echo "(refused, as it must be)"

step "7. Redact a CCTV clip: faces, and the heads of people too small for the face detector"
scripts/fetch-samples.sh
show "$veilgate" redact .cache/samples/vtest.avi -o "$out/vtest-redacted.mp4" --seconds 5 --detect-every 5 \
  --detections "$out/vtest-boxes.jsonl"
echo "(the first 5 seconds; play $out/vtest-redacted.mp4 to look at the result)"

step "8. The encrypted retention vault"
# A new demo site: its vault, export and audit anchor start afresh (an anchor left from an earlier run holds another
# gateway key's heads, and `audit verify` rightly calls that tampering).
rm -rf "$out/state" "$out/state.audit-anchor" "$out/export"
export VEILGATE_STATE="$out/state"
show "$veilgate" vault init
# `veilgate serve` records its cameras itself (step 9); here the redacted clip stands in for 6-second segments.
cp "$out/vtest-redacted.mp4" "$out/segment.mp4"
show "$veilgate" vault ingest "$out/segment.mp4" --camera market-square --category raw-video \
  --start 2026-11-20T10:00:00Z --repeat 3
show "$veilgate" vault ingest "$out/segment.mp4" --camera market-square --category redacted-video \
  --start 2026-11-24T10:00:00Z --repeat 2
show "$veilgate" vault list
show "$veilgate" vault hold place --camera market-square --from 2026-11-20T10:00:00Z --to 2026-11-20T10:00:06Z \
  --case CASE-2026-0815 --actor duty-officer
show "$veilgate" vault retention --dry-run --at 2026-11-25T12:00:00Z
show "$veilgate" vault retention --at 2026-11-25T12:00:00Z
show "$veilgate" vault export --camera market-square --from 2026-11-20T00:00:00Z --to 2026-11-25T00:00:00Z \
  -o "$out/export" --requested-by police
show "$veilgate" vault verify-export "$out/export" --public-key "$out/state/keys/gateway-signing.pub"
show "$veilgate" audit show
show "$veilgate" audit verify

step "9. Federation over mutual TLS: what each partner sees"
rm -rf "$out/certs"
show "$veilgate" certs init --certs "$out/certs" --site "Example City"
show "$veilgate" certs issue --partner police --certs "$out/certs"
show "$veilgate" certs issue --partner bakerstreet-mall --certs "$out/certs"
show "$veilgate" certs issue --operator control-room --certs "$out/certs"
police=$(ls "$out"/certs/issued/police-*.pem)
mall=$(ls "$out"/certs/issued/bakerstreet-mall-*.pem)
recent=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)
show "$veilgate" vault ingest "$out/segment.mp4" --camera market-square --category redacted-video --start "$recent"
show "$veilgate" alerts raise --camera station-forecourt --kind restricted-zone --zone tracks
show "$veilgate" alerts raise --camera mall-entrance --kind crowd-count --count 41
# No cameras here: the sample clip plays as the market-square camera, in real time and looped.
# A gateway refuses to run as root; a throw-away demo in a container may.
root_flag=""; if [ "$(id -u)" = 0 ]; then root_flag="--allow-root"; fi
"$veilgate" serve --certs "$out/certs" --host 127.0.0.1 --port 0 --console-port 0 $root_flag \
  --camera-source market-square=.cache/samples/vtest.avi > "$out/serve.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "operator console on" "$out/serve.log" && break; sleep 0.1; done
server=$(grep -o 'partner API on https://127.0.0.1:[0-9]*' "$out/serve.log" | grep -o 'https://.*' | head -1)
console=$(grep -o 'operator console on https://127.0.0.1:[0-9]*' "$out/serve.log" | grep -o 'https://.*' | head -1)
echo "(veilgate serve is running at $server; its log is $out/serve.log)"
partner() { show "$veilgate" partner get --server "$server" --ca "$out/certs/ca.pem" "$@" || true; }
partner /v1/cameras --cert "$police"
partner /v1/cameras --cert "$mall"
echo "# a client without a certificate does not get past the TLS handshake:"
partner /v1/cameras
from=$(date -u -d '-15 min' +%Y-%m-%dT%H:%M:%SZ); to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "# the police clip grant requires a justification (sent as a header; only its digest is audited):"
partner "/v1/cameras/market-square/clip?from=$from&to=$to" --cert "$police"
partner "/v1/cameras/market-square/clip?from=$from&to=$to" --cert "$police" --justification "CASE-2026-0815"
echo "# the mall has no clip grant on the market square: the same bare 403 as for a camera that does not exist"
partner "/v1/cameras/market-square/clip?from=$from&to=$to" --cert "$mall"
partner "/v1/cameras/no-such-camera/counts" --cert "$mall"
echo "# the police's alert stream: a hand-raised alert, then the market square's own restricted-zone alerts, each with a"
echo "# snapshot redacted as their grant says (saved under $out/alert-snapshots):"
show timeout 60 "$veilgate" partner events --server "$server" --ca "$out/certs/ca.pem" --cert "$police" --last-event-id 0 \
  --count 3 --snapshots "$out/alert-snapshots" || true
echo "# the police watch the market square live (HLS over mutual TLS), blurred as their live grant says:"
show "$veilgate" partner live market-square --server "$server" --ca "$out/certs/ca.pem" --cert "$police" --seconds 6 \
  -o "$out/live-police.mp4" || true
echo "# meanwhile the gateway's own analytics watched the square (docs/analytics.md): people in its zones raise alerts"
"$veilgate" alerts list --state "$out/state" | grep market-square | tail -5 || echo "(none yet)"
echo "# the mall's share of the square: people per zone and minute from those analytics, and its crowd alerts counted —"
echo "# nothing else (no restricted-zone or loitering alerts, no pictures; its grant is counts and crowd alerts):"
partner /v1/cameras/market-square/counts --cert "$mall"
echo "# the mall may not watch the square live (no grant, and a deny rule protects assemblies on the square):"
show "$veilgate" partner live market-square --server "$server" --ca "$out/certs/ca.pem" --cert "$mall" --seconds 2 \
  -o "$out/live-mall.mp4" || true
echo "# the operator console (docs/console.md): the control room's cameras with live redacted video, and its alerts, at"
echo "#   $console"
echo "# open it with the demo's operator certificate:  scripts/open-console.sh $out/certs control-room $console"
operator=$(ls "$out"/certs/issued/control-room-*.pem)
show "$veilgate" partner get /api/v1/session --server "$console" --ca "$out/certs/ca.pem" --cert "$operator" || true
if [ -t 0 ]; then
  read -r -p "The gateway and its console stay up until you press Enter… " _
fi
show "$veilgate" certs revoke --partner bakerstreet-mall --certs "$out/certs"
kill -HUP $serve_pid; sleep 0.5
echo "# after SIGHUP the revoked certificate fails the handshake:"
partner /v1/cameras --cert "$mall"
kill -TERM $serve_pid; wait $serve_pid || true
trap - EXIT
show "$veilgate" audit verify

step "Done"
echo "Reports are in $out/: record-of-processing.md and .html (open the HTML in a browser);"
echo "the redacted clip is $out/vtest-redacted.mp4, the police's live view $out/live-police.mp4; the vault is in $out/state, the signed export in $out/export;"
echo "the site PKI is in $out/certs — run the gateway yourself with: $veilgate serve --certs $out/certs --console-port 8444"
echo "(docs/federation.md), and open its console with: scripts/open-console.sh $out/certs control-room https://127.0.0.1:8444/"
echo "Next: edit policies/city-centre.yaml and run '$veilgate policy lint policies' — see docs/policy-language.md."
