#!/usr/bin/env bash
# Install or upgrade taskwave in the current kubectl context and wait until every
# function is rolled out. Used by .github/workflows/deploy-cluster.yml; by hand:
#   TAG=<commit sha> HOST=taskwave.example.com scripts/deploy.sh helm/taskwave/values-aks.yaml
# A failed upgrade rolls itself back (--atomic). Roll back a good upgrade with
#   helm rollback taskwave -n taskwave
set -euo pipefail
cd "$(dirname "$0")/.."

values=${1:?usage: scripts/deploy.sh <values file>}
release=${RELEASE:-taskwave}
namespace=${NAMESPACE:-taskwave}
tag=${TAG:?set TAG to the image tag (a commit SHA)}
# GHCR names are lower case; the owner defaults to the repository's.
owner=${IMAGE_OWNER:-${GITHUB_REPOSITORY_OWNER:-taskwave}}
owner=${owner,,}

args=(--namespace "$namespace" --create-namespace -f "$values"
  --set "image.owner=$owner" --set "image.tag=$tag"
  --atomic --wait --timeout 15m --history-max 10)
if [ -n "${HOST:-}" ]; then
  args+=(--set "ingress.host=$HOST")
fi

helm upgrade --install "$release" helm/taskwave "${args[@]}"
for fn in todo-api recurring reminders audit realtime; do
  kubectl -n "$namespace" rollout status "deployment/$fn" --timeout=5m
done
helm -n "$namespace" status "$release"
