#!/usr/bin/env bash
# TLS for the webhook on clusters without cert-manager: makes a private CA and a serving
# certificate for the webhook Service (openssl), stores them in the Secret the webhook pods
# mount, and puts the CA into caBundle of every webhook in the MutatingWebhookConfiguration.
# Re-run to rotate: the previous CA stays in caBundle beside the new one, so the API server
# trusts old and new serving certificates while the pods pick up the new files.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
namespace=ws-sidecar-system
service=ws-sidecar-webhook
secret=ws-sidecar-webhook-tls
config=ws-sidecar
days=365
out=""
dry_run=false

usage() {
  cat <<USAGE
Usage: $0 [--namespace NS] [--service NAME] [--secret NAME] [--webhook-config NAME]
          [--days N] [--out DIR] [--dry-run]

  --namespace       namespace of the webhook Service and Secret (default $namespace)
  --service         webhook Service name (default $service)
  --secret          TLS Secret the webhook pods mount (default $secret)
  --webhook-config  MutatingWebhookConfiguration to patch (default $config)
  --days            validity of the CA and the certificate (default $days)
  --out DIR         keep ca.crt, ca.key, tls.crt and tls.key in DIR (default: a temp dir, removed)
  --dry-run         change nothing: print the Secret and the patched webhook configuration
                    (from $here/base/mutating-webhook.yaml) as YAML
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --service) service=${2:?--service needs a value}; shift 2 ;;
    --secret) secret=${2:?--secret needs a value}; shift 2 ;;
    --webhook-config) config=${2:?--webhook-config needs a value}; shift 2 ;;
    --days) days=${2:?--days needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gen-certs.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$days" in ''|*[!0-9]*) echo "gen-certs.sh: --days must be a whole number, got '$days'" >&2; exit 2 ;; esac
for tool in openssl kubectl base64; do
  command -v "$tool" >/dev/null || { echo "gen-certs.sh: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=${out:-$work}
mkdir -p "$dir"
host="$service.$namespace.svc"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" -days "$days" -subj "/CN=ws-sidecar-webhook-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$dir/tls.key" -out "$work/tls.csr" -subj "/CN=$host" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.cluster.local\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
  "$host" "$host" > "$work/server.ext"
openssl x509 -req -in "$work/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days "$days" -extfile "$work/server.ext" -out "$dir/tls.crt" 2>/dev/null

secret_yaml() {
  kubectl create secret generic "$secret" --namespace "$namespace" --type=kubernetes.io/tls \
    --from-file=tls.crt="$dir/tls.crt" --from-file=tls.key="$dir/tls.key" --from-file=ca.crt="$dir/ca.crt" \
    --dry-run=client -o yaml
}

# One JSON patch op per webhook entry; $1 is the number of entries, $2 the base64 bundle.
ca_patch() {
  local ops="" i
  for ((i = 0; i < $1; i++)); do
    ops+="${ops:+,}{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$2\"}"
  done
  printf '[%s]' "$ops"
}

if [ "$dry_run" = true ]; then
  source_file="$here/base/mutating-webhook.yaml"
  count=$(kubectl patch --local -f "$source_file" --type=merge -p '{}' -o jsonpath='{range .webhooks[*]}{.name}{"\n"}{end}' | grep -c .)
  secret_yaml
  echo "---"
  kubectl patch --local -f "$source_file" --type=json -p "$(ca_patch "$count" "$(base64 < "$dir/ca.crt" | tr -d '\n')")" -o yaml
  exit 0
fi

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"
secret_yaml | kubectl apply -f -
# Keep the previous CA (first in the bundle): the running pods still serve a certificate it signed.
previous=$(kubectl get mutatingwebhookconfiguration "$config" -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d 2>/dev/null \
  | awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1' || true)
bundle=$( { cat "$dir/ca.crt"; [ -n "$previous" ] && printf '%s\n' "$previous"; } | base64 | tr -d '\n')
count=$(kubectl get mutatingwebhookconfiguration "$config" -o jsonpath='{range .webhooks[*]}{.name}{"\n"}{end}' | grep -c .)
kubectl patch mutatingwebhookconfiguration "$config" --type=json -p "$(ca_patch "$count" "$bundle")"
echo "gen-certs.sh: Secret $namespace/$secret written; caBundle of $count webhook(s) in $config patched (valid $days days)." >&2
