#!/bin/sh
# Installs what musrec needs to build and test (with --bench: and to run the
# benchmarks): Debian packages (as root, with apt-get) and the npm test
# oracles (from the committed lockfile).
# Without root it prints the apt-get line to run and stops.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config clang libclang-rt-14-dev libomp-14-dev
  libopenblas-dev libxgboost-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
  libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libcjson-dev
  python3-numpy python3-scipy python3-xgboost python3-botocore
  curl chromium"
# `make bench` also wants the peers of bench/serve.sh
[ "${1:-}" = --bench ] && PKGS="$PKGS wrk nginx-light"
missing=""
command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "deps: missing Debian packages. Run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
  fi
fi
# the lockfile's install marker, not the folder: an interrupted or emptied
# node_modules must not pass for an installed one
if [ ! -f scripts/oracle/node_modules/.package-lock.json ] ||
   [ scripts/oracle/package-lock.json -nt scripts/oracle/node_modules/.package-lock.json ]; then
  if command -v npm >/dev/null; then
    echo "deps: installing npm test oracles (npm ci)"
    (cd scripts/oracle && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
