# syntax=docker/dockerfile:1
# Everything above the "function" line is the same in all five Dockerfiles
# (tests/deploy/test_dockerfiles.py checks), so the five images share one set of
# layers: built once, stored once in the registry, pulled once per node.
#
# Base: the official Python 3.11 slim image on Debian bookworm, pinned by tag. No
# registry was reachable where this file was written, so no digest could be read and
# verified, and none is pinned unverified; to pin one: docker buildx imagetools
# inspect python:3.11-slim-bookworm, then use python:3.11-slim-bookworm@sha256:<digest>
# in both FROM lines. Until then each image's provenance attestation (images.yml)
# records the base digest it was built from.

# --- build: the runtime dependencies in a virtualenv ------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY docker/requirements.txt ./
# pyproject.toml's runtime dependencies at the versions of requirements.lock, each with
# the sha256 of its wheels for amd64 and arm64 (scripts/hash_requirements.py writes the
# file; tests/deploy checks it against the lock): a changed or unexpected file fails
# the build. Wheels only, so no compiler is needed; `pip check` proves the set is
# complete. pip and setuptools leave the venv afterwards.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r requirements.txt \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/pip uninstall --yes pip setuptools
# The code the functions run: shared and functions (stack/ is the local launcher).
COPY shared/ /app/shared/
COPY functions/ /app/functions/
RUN /opt/venv/bin/python -m compileall -q /app

# --- runtime: slim, no build tools, not root -----------------------------------------
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --gid 10001 taskwave \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin taskwave \
 && python -m pip uninstall --yes --disable-pip-version-check pip setuptools wheel
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TASKWAVE_HOST=0.0.0.0
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it (the chart runs as 10001 too).
USER 10001:10001
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (helm/taskwave).

# --- function: todo-api ---------------------------------------------------------
FROM runtime
LABEL org.opencontainers.image.title="taskwave-todo-api" \
      org.opencontainers.image.description="taskwave todo-api function (Starlette, behind a Dapr sidecar)"
# APP_PORT is what Dapr's app-port annotation names; the chart sets both.
ENV APP_ID=todo-api \
    APP_PORT=8000
EXPOSE 8000
# /metrics (TASKWAVE_METRICS_PORT), for the scraper only
EXPOSE 9464
CMD ["python", "-m", "functions.todo_api"]
