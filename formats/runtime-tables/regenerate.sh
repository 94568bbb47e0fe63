#!/usr/bin/env bash
# Regenerate the runtime layout tables from the DWARF builds of the fixture matrix.
#   formats/runtime-tables/regenerate.sh [1.19 1.21 …]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27)
cargo build --release --manifest-path "$ROOT/Cargo.toml" >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for v in "${VERSIONS[@]}"; do
	fx=$ROOT/testdata/fixtures/go$v
	zstd -dqf "$fx/core.zst" -o "$WORK/core"
	zstd -dqf "$fx/scenarios.zst" -o "$WORK/scenarios"
	"$ROOT/target/release/rootpath" "$WORK/core" --exe "$WORK/scenarios" -q dev-runtime-table \
		>"$HERE/go$v.txt"
	echo "go$v: $(grep -c '^type' "$HERE/go$v.txt") types, $(grep -c '^global' "$HERE/go$v.txt") globals" >&2
done
