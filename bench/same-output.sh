#!/usr/bin/env bash
# Runs every command, as text and as --json, on every fixture (core and heap
# dump) with two rootpath binaries and reports each difference in stdout,
# stderr (progress off) or exit status. A restructure must leave all of them
# byte-identical. Where the first binary's own output varies from run to run,
# the second passes (listed as UNSTABLE) when it matches one of up to 20 more
# runs; when it matches none, it is listed (UNSTABLE, UNMATCHED) but not
# counted, since the first binary itself gives no one answer to compare with.
#
#   bench/same-output.sh BEFORE_BINARY AFTER_BINARY [FIXTURE...]
#
# Fixtures default to every directory under testdata/fixtures/. Addresses for
# `why ADDR` are the first objects of each fixture's truth.json, and the
# `why type:` / `why site:` queries its first structures and sites. Exit
# status: 0 when everything matched, 1 when something differed.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
before=$(realpath "$1")
after=$(realpath "$2")
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=("$@")
if [[ ${#fixtures[@]} -eq 0 ]]; then
    for d in "$root"/testdata/fixtures/*/; do fixtures+=("$(basename "$d")"); done
fi
# How many truth entries feed `why` per fixture.
ADDRS=${SAME_OUTPUT_ADDRS:-4}
QUERIES=${SAME_OUTPUT_QUERIES:-2}

cache="$root/target/same-output"
out="$cache/runs"
rm -rf "$out" "$cache/index-before" "$cache/index-after"
mkdir -p "$out"
# Each binary keeps its own persistent index (an index is tied to the binary
# that wrote it, so a shared one would be rebuilt by every other run): the first
# command on an input builds the model, later ones reopen it, and both paths
# are compared. A binary older than the index has no such flag.
index_flags() {
    if "$1" --help 2>/dev/null | grep -q -- '--index-dir'; then
        echo "--index-dir=$2"
    fi
}
read -r -a before_flags <<<"$(index_flags "$before" "$cache/index-before")"
read -r -a after_flags <<<"$(index_flags "$after" "$cache/index-after")"

# Decompresses NAME.zst of a fixture once; prints the plain file's path.
plain() {
    local fixture=$1 name=$2
    local src="$root/testdata/fixtures/$fixture/$name"
    [[ -e $src ]] && { echo "$src"; return; }
    [[ -e $src.zst ]] || return 1
    local dst="$cache/files/$fixture/$name"
    if [[ ! -e $dst || $src.zst -nt $dst ]]; then
        mkdir -p "$(dirname "$dst")"
        zstd -q -d -f --long=31 "$src.zst" -o "$dst.tmp"
        chmod --reference="$src.zst" "$dst.tmp"
        mv "$dst.tmp" "$dst"
    fi
    echo "$dst"
}

runs=0
differences=0
unstable=0
unmatched=0
# compare LABEL ARGS...: runs both binaries with ARGS and compares everything they print.
compare() {
    local label=$1
    shift
    local b="$out/before" a="$out/after"
    local rb=0 ra=0
    "$before" "${before_flags[@]}" -q "$@" >"$b.out" 2>"$b.err" || rb=$?
    "$after" "${after_flags[@]}" -q "$@" >"$a.out" 2>"$a.err" || ra=$?
    runs=$((runs + 1))
    local what=()
    cmp -s "$b.out" "$a.out" || what+=(stdout)
    cmp -s "$b.err" "$a.err" || what+=(stderr)
    [[ $rb == "$ra" ]] || what+=("exit $rb→$ra")
    if [[ ${#what[@]} -gt 0 ]]; then
        # More runs of the first binary tell a changed answer from one that
        # already changes from run to run (ties broken by hash order): the
        # second binary passes when it matches any of them.
        local varies=0 r2 i
        for ((i = 0; i < 20; i++)); do
            r2=0
            "$before" "${before_flags[@]}" -q "$@" >"$b.out2" 2>"$b.err2" || r2=$?
            if cmp -s "$b.out2" "$a.out" && cmp -s "$b.err2" "$a.err" && [[ $r2 == "$ra" ]]; then
                unstable=$((unstable + 1))
                echo "UNSTABLE (the first binary varies; the second matched one of its runs): rootpath -q $*"
                return
            fi
            if ! cmp -s "$b.out" "$b.out2" || ! cmp -s "$b.err" "$b.err2" || [[ $rb != "$r2" ]]; then
                varies=1
            fi
        done
        if [[ $varies == 1 ]]; then
            unmatched=$((unmatched + 1))
            echo "UNSTABLE, UNMATCHED (the first binary varies, and none of its runs equals the second's; not counted): rootpath -q $*"
            return
        fi
        differences=$((differences + 1))
        echo "DIFFERS ($label: ${what[*]}): rootpath -q $*"
        diff "$b.out" "$a.out" | head -5 || true
        diff "$b.err" "$a.err" | head -5 || true
    fi
}

for fixture in "${fixtures[@]}"; do
    dir="$root/testdata/fixtures/$fixture"
    truth="$dir/truth.json"
    exe=$(plain "$fixture" scenarios 2>/dev/null || true)
    inputs=()
    core=$(plain "$fixture" core 2>/dev/null) && inputs+=(core)
    # A heap dump is read with its executable and without (names from its own records).
    dump=$(plain "$fixture" heap.dump 2>/dev/null) && inputs+=(dump dump-without-exe)
    profile=()
    [[ -e $dir/heap.pprof ]] && profile=(--heap "$dir/heap.pprof")
    whys=()
    if [[ -e $truth ]]; then
        mapfile -t addrs < <(jq -r ".objects[:$ADDRS][].addr" "$truth")
        mapfile -t types < <(jq -r "[.structures[].objects[0].type] | unique | .[:$QUERIES][]" "$truth")
        mapfile -t sites < <(jq -r ".sites[:$QUERIES][] | .function, \"\(.file | split(\"/\") | last):\(.line)\"" "$truth")
        whys+=("${addrs[@]}")
        for t in "${types[@]}"; do whys+=("type:$t"); done
        for s in "${sites[@]}"; do whys+=("site:$s"); done
    fi
    for input in "${inputs[@]}"; do
        file=$core
        [[ $input == dump* ]] && file=$dump
        base=("$file")
        [[ -n $exe && $input != dump-without-exe ]] && base+=(--exe "$exe")
        commands=(
            "report" "top" "top --group type" "histogram" "objects" "roots"
            "goroutines" "sites" "overview"
        )
        for json in "" "--json"; do
            for c in "${commands[@]}"; do
                read -ra words <<<"$c"
                compare "$fixture $input" "${base[@]}" $json "${words[@]}"
            done
            if [[ ${#profile[@]} -gt 0 ]]; then
                compare "$fixture $input" "${base[@]}" "${profile[@]}" $json report
                compare "$fixture $input" "${base[@]}" "${profile[@]}" $json sites
            fi
            # The runtime layout table a load with DWARF records (cores only).
            if [[ $input == core && -z $json ]]; then
                compare "$fixture $input" "${base[@]}" dev-runtime-table
            fi
            for w in "${whys[@]}"; do
                compare "$fixture $input" "${base[@]}" $json why "$w"
            done
        done
    done
    echo "$fixture: ${inputs[*]:-no input} done ($runs runs so far, $differences differing)"
done

echo "$runs runs, $differences differing, $unstable unstable in the first binary (matched), $unmatched unstable and unmatched"
[[ $differences -eq 0 ]]
