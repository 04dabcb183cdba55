#!/usr/bin/env bash
# Installs every Debian package VisionFleet needs. Idempotent: a no-op (about a second)
# when everything is already there.
set -euo pipefail

PACKAGES=(
  libgrpc++-dev libgrpc-dev libprotobuf-dev protobuf-compiler
  libopenblas-dev libdnnl-dev libhnswlib-dev libssl-dev libpng-dev libturbojpeg0-dev libsqlite3-dev zlib1g-dev
  libb64-0d python3-venv dataset-fashion-mnist docker-compose
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
