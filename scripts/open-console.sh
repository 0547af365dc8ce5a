#!/usr/bin/env bash
# Opens the operator console in a throw-away Chromium profile holding one operator's certificate:
#   scripts/open-console.sh CERTS_FOLDER OPERATOR URL
# e.g. scripts/open-console.sh demo-output/certs control-room https://127.0.0.1:8444/
# The profile trusts the site CA (CERTS_FOLDER/ca.pem) and nothing else is changed on the machine. Chromium asks which
# certificate to present; pick the operator's.
set -euo pipefail
certs=${1:?usage: open-console.sh CERTS_FOLDER OPERATOR URL}
name=${2:?operator name}
url=${3:?console URL}
pem=$(ls -t "$certs"/issued/"$name"-*.pem 2>/dev/null | head -1)
[ -n "$pem" ] || { echo "no certificate for operator $name in $certs/issued (veilgate certs issue --operator $name)"; exit 1; }
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium libnss3-tools)"; exit 1; }
home=$(mktemp -d)
mkdir -p "$home/.pki/nssdb"
openssl pkcs12 -export -in "$pem" -inkey "${pem%.pem}.key" -out "$home/$name.p12" -passout pass:
certutil -N -d "sql:$home/.pki/nssdb" --empty-password
pk12util -i "$home/$name.p12" -d "sql:$home/.pki/nssdb" -W "" >/dev/null
certutil -A -d "sql:$home/.pki/nssdb" -n veilgate-site-ca -t "C,," -i "$certs/ca.pem"
echo "opening $url as $name (profile $home; delete it afterwards)"
HOME=$home exec chromium --user-data-dir="$home/profile" "$url"
