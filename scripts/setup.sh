#!/usr/bin/env bash
# Installs everything Parallelagram needs from Debian's packages (and npm, for the tests
# that drive AWS's JS clients), then builds the release CLI into build/.
# Idempotent: safe to run again. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so clones share one cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(
  build-essential g++ cmake ninja-build ccache pkg-config git
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libboost-dev libzip-dev libpugixml-dev libgtest-dev libgmock-dev libbenchmark-dev
  zip unzip python3 busybox-static openssl ca-certificates
  autoconf automake libtool make
  parallel wrk nginx-light hyperfine
  clang-format clang-tidy
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (for the JS-client tests): Debian's, unless a Node.js with its own npm is
# already there (Debian's npm package conflicts with NodeSource's nodejs).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# AWS's own Python software used by the tests (moto_server, boto3, botocore, awscli).
# The project's machine image ships them; on a plain Debian 12 fall back to Debian's packages.
if ! python3 -c 'import moto, boto3, botocore' 2>/dev/null || ! command -v aws >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-moto python3-boto3 awscli || true
fi

# AWS's JS SDK and runtime client, only for the conformance tests.
if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${PG_SETUP_NO_BUILD:-}" != 1 ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)"
  echo "setup: built build/parallelagram and build/bootstrap"
fi
