#!/usr/bin/env bash
# Installs everything the tests and the sandbox need on a fresh Debian machine:
# Debian packages (etcd, Go toolchain for the one-time kube-apiserver build, lua, kubectl),
# a kube-apiserver binary (KUBEBUILDER_ASSETS, PATH, or built once from Debian's source
# package and cached outside the work tree), and the Python packages: the operator with its dev
# extras and the development environment in devenv/.
# Safe to run again: every step is skipped when its result is already there.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR="${HYBRID_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hybrid-gateway}"
BIN_DIR="$CACHE_DIR/bin"
# Bump when the build recipe changes: a cached binary from an older recipe is rebuilt.
RECIPE=2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

log() { printf '[install-test-deps] %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# 1. Debian packages used at test time.
apt_install etcd-server lua5.4 jq ca-certificates curl
command -v kubectl >/dev/null || apt_install kubernetes-client

# 2. kube-apiserver.
find_apiserver() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]; then
    echo "$KUBEBUILDER_ASSETS/kube-apiserver"; return 0; fi
  if command -v kube-apiserver >/dev/null; then command -v kube-apiserver; return 0; fi
  if [ -x "$BIN_DIR/kube-apiserver" ] && [ "$(cat "$BIN_DIR/kube-apiserver.recipe" 2>/dev/null)" = "$RECIPE" ]; then
    echo "$BIN_DIR/kube-apiserver"; return 0; fi
  return 1
}

build_apiserver() {
  log "building kube-apiserver from Debian's kubernetes source package (once; about 5 minutes)"
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        | $SUDO tee /etc/apt/sources.list.d/hybrid-gateway-src.sources >/dev/null
    else
      grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
        | $SUDO tee /etc/apt/sources.list.d/hybrid-gateway-src.list >/dev/null
    fi
    apt_updated=0
  fi
  [ $apt_updated = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }
  apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev make
  local work; work=$(mktemp -d "${TMPDIR:-/tmp}/kube-build.XXXXXX")
  (
    cd "$work"
    apt-get source --download-only kubernetes >/dev/null 2>&1
    tar xzf kubernetes_*.orig.tar.gz
    src=$(find . -maxdepth 1 -mindepth 1 -type d | head -n1)
    cd "$src"
    # The vendored reflect2 1.0.1 crashes under Go >= 1.18; Debian's 1.0.2 does not.
    rm -rf vendor/github.com/modern-go/reflect2
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
    # Go >= 1.16 makes the vendored go-openapi type check treat "" as null, so every empty string
    # in a custom resource is rejected (kubernetes/kubernetes#99804); kube-openapi's fix, applied here.
    sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' \
      vendor/github.com/go-openapi/validate/type.go vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go
    grep -q 'if data == nil {' vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go
    rm -rf _output
    CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=vendor GOCACHE="$work/gocache" GOPATH="$work/gopath" \
      make WHAT=cmd/kube-apiserver >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
    mkdir -p "$BIN_DIR"
    install -m 0755 _output/bin/kube-apiserver "$BIN_DIR/kube-apiserver"
    echo "$RECIPE" > "$BIN_DIR/kube-apiserver.recipe"
  )
  rm -rf "$work"
}

if ! apiserver=$(find_apiserver); then
  build_apiserver
  apiserver=$(find_apiserver)
fi
log "kube-apiserver: $apiserver"

# 3. The operator with its dev extras, and the development environment (devenv/, its own distribution).
if [ "${SKIP_PIP:-0}" != 1 ]; then
  python3 -m pip install -q --disable-pip-version-check -e "$ROOT[dev]" -e "$ROOT/devenv"
fi
