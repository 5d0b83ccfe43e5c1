#!/usr/bin/env bash
# Installs what the tests need (on top of scripts/setup.sh's), builds the sanitizer test build
# (build-asan/) and runs every test: the gtest unit and integration tests and the end-to-end
# tests that run the real binaries (the C++ API's install test uses setup's build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so clones share one cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  zip unzip python3 busybox-static openssl
  autoconf automake libtool make
  parallel wrk nginx-light hyperfine
  clang-format clang-tidy
  chromium
)
# Node.js and npm (for the JS-client tests): Debian's, unless a Node.js with its own npm is
# already there (Debian's npm package conflicts with NodeSource's nodejs).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
scripts/install-packages.sh "${pkgs[@]}"
# AWS's own Python software (moto_server, boto3, botocore, awscli). The project's machine
# image ships them; on a plain Debian 12 fall back to Debian's packages.
if ! python3 -c 'import moto, boto3, botocore' 2>/dev/null || ! command -v aws >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-moto python3-boto3 awscli || true
fi
# AWS's JS SDK and runtime client, for the conformance tests; puppeteer-core (driving the
# Debian chromium above, no browser download) for report_browser_test.py.
if [ -f tests/node/package.json ] && ! (cd tests/node && npm ls --depth=0 >/dev/null 2>&1); then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --preset asan "$@"
