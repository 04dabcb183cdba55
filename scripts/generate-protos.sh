#!/usr/bin/env bash
# Regenerates Sources/FleetProtos from Protos/ with Debian's protoc and a protoc-gen-swift
# built (release, ~2 minutes, cached in .build-protoc/) from the same swift-protobuf version
# that Package.swift depends on. The generated code is committed; run this after editing a .proto.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"

VERSION=1.39.0
WORK=.build-protoc
PLUGIN="$WORK/swift-protobuf/.build/release/protoc-gen-swift"
# The package's own build of the same swift-protobuf (swift build makes it) works offline.
for built in .build/release/protoc-gen-swift .build/debug/protoc-gen-swift; do
  if [ ! -x "$PLUGIN" ] && [ -x "$built" ] && grep -q "exact: \"$VERSION\"" Package.swift; then PLUGIN="$built"; fi
done
if [ ! -x "$PLUGIN" ]; then
  rm -rf "$WORK/swift-protobuf"
  mkdir -p "$WORK"
  git clone -q --depth 1 --branch "$VERSION" https://github.com/apple/swift-protobuf.git "$WORK/swift-protobuf"
  (cd "$WORK/swift-protobuf" && swift build -c release --product protoc-gen-swift)
fi

OUT=Sources/FleetProtos/Generated
rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -t FILES < <(cd Protos && find . -name '*.proto' | sed 's|^\./||' | sort)
protoc --plugin=protoc-gen-swift="$PLUGIN" -I Protos \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --swift_out="$OUT" "${FILES[@]}"
echo "generated $(ls "$OUT" | wc -l) files into $OUT"
python3 scripts/lib/gen_service_catalog.py Protos Sources/FleetProtos/ServiceCatalog.swift
echo "wrote Sources/FleetProtos/ServiceCatalog.swift"
