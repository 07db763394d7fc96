#!/usr/bin/env bash
# Installs what building and testing Weft needs on Debian 12: system libraries, the protobuf
# oracles (protoc, protobuf-c), Debian's grpc-proto corpus, bubblewrap for the sandbox sidecar,
# headless Chromium for the dashboard test, and the pinned Python peers. Slurm is separate: scripts/slurm-up.sh.
# Idempotent: does nothing that is already done. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  pkg-config
  libnghttp2-dev libssl-dev zlib1g-dev libsqlite3-dev   # the product's system libraries
  libprotobuf-c-dev protobuf-c-compiler         # protobuf-c: codec oracle and benchmark peer
  protobuf-compiler libprotobuf-dev grpc-proto  # protoc and the .proto corpora the parser is checked on
  nghttp2-client nghttp2-server                 # h2load and nghttpd for benchmarks
  bubblewrap util-linux                         # the local sandbox sidecar (bwrap; prlimit for limits)
  chromium                                      # headless browser that renders the accounting dashboard in tests
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pip does nothing (quickly) when the pinned versions are already there.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r Tests/python/requirements.txt
