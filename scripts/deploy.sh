#!/usr/bin/env bash
# Install or upgrade taskwave in the current kubectl context and wait until every
# function is rolled out. Used by .github/workflows/deploy-cluster.yml; by hand:
#   TAG=<commit sha> HOST=taskwave.example.com scripts/deploy.sh helm/taskwave/values-aks.yaml
#
# Before touching the release it checks (and fails in seconds, not after a 10-minute
# --atomic timeout):
#   * TAG is a full 40-hex commit SHA (what images.yml tags the images with);
#   * the release is not stuck in a pending-* state from a killed run;
#   * every Secret the rendered chart needs exists in the namespace: the image pull
#     secret(s) (GHCR packages are private by default), the Dapr app/API token secrets,
#     the secrets the Dapr secret store may read (the Role's resourceNames) and every
#     secretKeyRef.
# A failed upgrade rolls itself back (--atomic). Writes `previous=<revision>` (empty on
# a first install: nothing to roll back to) to $GITHUB_OUTPUT when set.
# HELM_TIMEOUT (default 10m) bounds the upgrade, and the automatic rollback after a
# failed one takes up to as long again: the workflow's step timeout allows for both
# (tests/deploy/test_workflows.py checks).
set -euo pipefail
cd "$(dirname "$0")/.."

values=${1:?usage: scripts/deploy.sh <values file>}
release=${RELEASE:-taskwave}
namespace=${NAMESPACE:-taskwave}
tag=${TAG:?set TAG to the image tag (a commit SHA)}
timeout=${HELM_TIMEOUT:-10m}
# GHCR names are lower case; the owner defaults to the repository's.
owner=${IMAGE_OWNER:-${GITHUB_REPOSITORY_OWNER:-taskwave}}
owner=${owner,,}

fail() { echo "deploy: $*" >&2; exit 1; }

if [[ ! $tag =~ ^[0-9a-f]{40}$ ]] && [ "${ALLOW_ANY_TAG:-}" != 1 ]; then
  fail "TAG=$tag is not a 40-hex commit SHA (images.yml tags every image with the full SHA; ALLOW_ANY_TAG=1 to override)"
fi

args=(--namespace "$namespace" -f "$values"
  --set "image.owner=$owner" --set "image.tag=$tag")
if [ -n "${HOST:-}" ]; then
  args+=(--set "ingress.host=$HOST")
fi

# A run killed mid-upgrade or mid-rollback leaves the release pending-*: every later
# upgrade is refused until someone decides. Say so plainly instead of failing in helm.
status=$(helm status "$release" -n "$namespace" -o json 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])' 2>/dev/null || true)
case "$status" in
  pending-install|pending-upgrade|pending-rollback)
    fail "release $release is $status (an earlier run was interrupted). Inspect with
  helm history $release -n $namespace
then roll back to the last deployed revision (helm rollback $release <revision> -n $namespace --wait)
or, after a failed first install, helm uninstall $release -n $namespace; then deploy again." ;;
esac
previous=""
if [ -n "$status" ]; then
  previous=$(helm history "$release" -n "$namespace" --max 20 -o json \
    | python3 -c 'import json,sys; d=[r["revision"] for r in json.load(sys.stdin) if r["status"] in ("deployed","superseded")]; print(max(d) if d else "")')
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "previous=$previous" >> "$GITHUB_OUTPUT"
fi

# The Secrets the rendered chart names: imagePullSecrets, the Dapr token secrets
# (annotations) and the secrets behind secretKeyRef. None may be missing.
kube=$(kubectl version -o json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')
rendered=$(helm template "$release" helm/taskwave "${args[@]}" --kube-version "$kube")
needed=$(printf '%s\n' "$rendered" | awk '
  /imagePullSecrets:/ { list = "pull"; next }
  /resourceNames:/    { list = "names"; next }
  list == "pull" && /- name:/ { print $3; next }
  list == "names" && /^ *- / { n = $0; sub(/^ *- */, "", n); gsub(/"/, "", n); print n; next }
  { list = "" }
  /dapr.io\/(app|api)-token-secret:/ { gsub(/"/, "", $2); print $2 }
  /secretKeyRef:/ { ref = 2; next }
  ref > 0 && /name:/ { print $2; ref = 0; next }
  ref > 0 { ref-- }
' | sort -u)
missing=()
for secret in $needed; do
  kubectl -n "$namespace" get secret "$secret" >/dev/null 2>&1 || missing+=("$secret")
done
if [ ${#missing[@]} -gt 0 ]; then
  fail "missing Secret(s) in namespace $namespace: ${missing[*]}
Create them first (docs/deployment.md, step 'Secrets in the cluster'); for the image
pull secret: kubectl -n $namespace create secret docker-registry ghcr-pull \\
  --docker-server=ghcr.io --docker-username=<user> --docker-password=<token with read:packages>"
fi
echo "deploy: $(wc -w <<<"$needed") Secrets present; previous revision: ${previous:-none (first install)}"

helm upgrade --install "$release" helm/taskwave "${args[@]}" \
  --atomic --wait --timeout "$timeout" --history-max 10
for fn in todo-api recurring reminders audit realtime; do
  kubectl -n "$namespace" rollout status "deployment/$fn" --timeout=1m
done
helm -n "$namespace" status "$release"
