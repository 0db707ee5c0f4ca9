# syntax=docker/dockerfile:1
#
# hybrid-gateway-operator image: `docker build -t ghcr.io/example/hybrid-gateway-operator:0.1.0 .`
#
# The base image is pinned to an exact patch release. Pin the digest as well where you can pull:
#   docker buildx imagetools inspect python:3.11.10-slim-bookworm   # -> sha256:...
#   FROM python:3.11.10-slim-bookworm@sha256:<digest>
# (not done here: the machines this was written on cannot reach a registry to read the digest).

# --- builder: a wheel of the project plus wheels of its runtime dependencies ----------------------
FROM python:3.11.10-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY operator/ ./operator/
# The runtime dependencies exactly as locked, each download checked against its hash (requirements.lock,
# `make lock`), then the operator itself without dependencies: no [dev] extra, and not the development
# environment (devenv/, a distribution of its own with moto; .dockerignore keeps it out of the context).
RUN pip wheel --require-hashes --wheel-dir /wheels -r requirements.lock \
 && pip wheel --no-deps --wheel-dir /wheels .

# --- runtime ----------------------------------------------------------------------------------------
FROM python:3.11.10-slim-bookworm

LABEL org.opencontainers.image.title="hybrid-gateway-operator" \
      org.opencontainers.image.description="Kubernetes operator for Amazon API Gateway to on-premises HTTPS backends" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 hybridgateway \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin hybridgateway

# Install from the builder's wheels only (--no-index): nothing else is fetched, no build tools and no
# wheel files stay in the image. The hashes were checked when the builder downloaded them (a wheel the
# builder made from a source archive has no published hash to check again).
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels hybrid-gateway-operator \
 && rm -rf /root/.cache

USER 10001:10001
WORKDIR /tmp

# 8080: kopf health endpoint (/healthz), 9090: Prometheus metrics.
EXPOSE 8080 9090

ENTRYPOINT ["hybrid-gateway"]
CMD ["run", "--all-namespaces"]
