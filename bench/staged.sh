#!/usr/bin/env bash
# Pre-commit latency and directory throughput:
#   1. `keyrot scan --staged` on a 3-file, ~200-line staged change, beside `git diff --cached
#      --stat` on the same change (target: <= 2x, and <= 16 MiB peak memory);
#   2. `keyrot scan` of the whole working tree (target: >= 200 MB/s), beside `git grep` of a
#      keyword over the same tree as a reference measured in the same run.
# Usage: bench/staged.sh [REPO]. The change is staged in a clone of REPO (a large real one, such
# as git/git; default: a repository built from the Python stdlib and crate sources), never in
# REPO itself. Needs hyperfine, rsync and GNU time (Debian packages). Prints medians, ratios
# and peak memory; asserts nothing.
set -euo pipefail
source "$(dirname "$0")/corpus.sh"
need hyperfine "apt-get install hyperfine"
need rsync "apt-get install rsync"
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install time)" >&2; exit 2; }
build_keyrot

repo="$work/staged-repo"
if [ -n "${1:-}" ]; then
  repo="$work/staged-$(basename "$(cd "$1" && pwd)")"
  [ -d "$repo/.git" ] || git clone -q "$1" "$repo"
elif [ ! -d "$repo/.git" ]; then
  echo "building $repo from the Python stdlib and crate sources…" >&2
  copy_corpus "$repo"
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -q -m corpus
fi
git -C "$repo" reset -q --hard

# A realistic change: three existing files, about 200 lines added across them.
mapfile -t files < <(git -C "$repo" ls-files '*.py' '*.c' '*.rs' | head -n 300 | tail -n 3)
for f in "${files[@]}"; do
  python3 - "$repo/$f" <<'PY'
import sys
path = sys.argv[1]
lines = [f"setting_{i} = compute_value({i}, scale=0.{i % 10})  # tuned for the new worker\n" for i in range(67)]
with open(path, "a") as out:
    out.writelines(lines)
PY
  git -C "$repo" add "$f"
done
echo "staged: ${files[*]} ($(git -C "$repo" diff --cached --numstat | awk '{s += $1} END {print s}') lines)"

tree_mb=$(mb "$repo" )
git_mb=$(mb "$repo/.git")
data_mb=$(python3 -c "print(round($tree_mb - $git_mb, 1))")

cd "$repo"
hyperfine -N -i --warmup 3 --runs 30 --style basic --export-json "$work/staged.json" \
  -n 'keyrot scan --staged' "$keyrot scan --staged --quiet" \
  -n 'git diff --cached (reference)' 'git diff --cached --stat' >/dev/null 2>&1 || true
# keyrot exits 1 when the repository's staged change holds a finding: still a measurement.
peak() { { /usr/bin/time -f %M "$@" 2>&1 >/dev/null || true; } | tail -n 1; }
keyrot_kb=$(peak "$keyrot" scan --staged --quiet)
git_kb=$(peak git diff --cached --stat)
hyperfine -i --warmup 1 --runs 5 --style basic --export-json "$work/dir.json" \
  -n 'keyrot scan .' "$keyrot scan --quiet --format json ." \
  -n 'git grep -i password (reference)' 'git grep -I -i -c password >/dev/null' >/dev/null 2>&1 || true

python3 - "$work/staged.json" "$work/dir.json" "$data_mb" "$keyrot_kb" "$git_kb" <<'PY'
import json, sys
keyrot_kb, git_kb = int(sys.argv[4]), int(sys.argv[5])
staged = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
scan = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
mb = float(sys.argv[3])
s = staged["keyrot scan --staged"]["median"] * 1000
ref = staged["git diff --cached (reference)"]["median"] * 1000
d = scan["keyrot scan ."]["median"]
g = scan["git grep -i password (reference)"]["median"]
print(f"keyrot scan --staged (3 files):  median {s:6.1f} ms   {s / ref:.2f}x git diff --cached --stat at {ref:.1f} ms (target <= 2x)")
print(f"peak memory:                      keyrot {keyrot_kb / 1024:.1f} MiB (target <= 16 MiB), git diff {git_kb / 1024:.1f} MiB")
print(f"keyrot scan . ({mb:.0f} MB):        median {d:6.2f} s    {mb / d:6.0f} MB/s   target >= 200 MB/s   ({d / g:.2f}x git grep at {mb / g:.0f} MB/s)")
PY
