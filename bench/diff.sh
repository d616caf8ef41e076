#!/usr/bin/env bash
# Differential check of two keyrot binaries: runs both on the same input and compares their
# findings, so a change to the matcher can show it lost nothing. Each finding is reduced to its
# rule and every location (path, commit, line, column), not its fingerprint, so binaries with
# different fingerprint schemes compare too; a location that only the old binary reports is a
# loss. Exit 0 when nothing was lost (new findings are listed,
# not failed on), 1 when something was, 2 on a usage or run error.
#
# usage: bench/diff.sh OLD_KEYROT NEW_KEYROT [DIR] [SCAN ARGS...]
#        (DIR defaults to the current directory, SCAN ARGS to --history)
# e.g.   bench/diff.sh /tmp/keyrot-before target/release/keyrot ~/src/cargo --history
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2")
dir=${3:-.}
shift $(( $# >= 3 ? 3 : 2 ))
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--history)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
  local code=0
  (cd "$dir" && "$1" scan "${args[@]}" --format json --quiet --no-baseline) > "$2" || code=$?
  [ "$code" -le 1 ] || { echo "diff: $1 exited $code" >&2; exit 2; }
}
start=$EPOCHREALTIME; run "$old" "$out/old.json"; mid=$EPOCHREALTIME
run "$new" "$out/new.json"; end=$EPOCHREALTIME
awk -v a="$start" -v b="$mid" -v c="$end" 'BEGIN { printf "old: %.2f s   new: %.2f s\n", b - a, c - b }'

python3 - "$out/old.json" "$out/new.json" <<'PY'
import json, sys

def places(path):
    report = json.load(open(path))
    found = {}
    for f in report["findings"]:
        for l in f["locations"]:
            commit = l.get("commit") or ""
            if isinstance(commit, dict):
                commit = commit.get("id", "")
            found[(f["rule"], l["path"], commit, l["line"], l["column"])] = f
    return found

old, new = places(sys.argv[1]), places(sys.argv[2])
lost = sorted(set(old) - set(new))
gained = sorted(set(new) - set(old))
print(f"locations: old {len(old)}, new {len(new)}, lost {len(lost)}, gained {len(gained)}")
for label, keys in (("lost", lost), ("gained", gained)):
    for rule, path, commit, line, column in keys[:50]:
        print(f"  {label}: {rule} at {path}:{line}:{column} {commit[:12]}")
sys.exit(1 if lost else 0)
PY
