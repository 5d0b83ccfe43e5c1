#!/usr/bin/env bash
# Installs what the CLI and the C++ library need from Debian's packages, then builds only
# them (release, into build/): the CLI build/parallelagram, the worker build/bootstrap and
# libparallelagram.so. What only the tests need is installed by scripts/test.sh.
# Idempotent: safe to run again. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so clones share one cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

scripts/install-packages.sh \
  build-essential g++ cmake ninja-build ccache pkg-config git ca-certificates \
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libcli11-dev libfmt-dev \
  libboost-dev libzip-dev libpugixml-dev

if [ "${PG_SETUP_NO_BUILD:-}" != 1 ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target parallelagram bootstrap parallelagram_lib
  echo "setup: built build/parallelagram, build/bootstrap and build/libparallelagram.so"
fi
