#!/usr/bin/env bash
# Keyword-dense text: what a file full of provider names, key words and values costs. A rule
# whose keyword is only context (NAME ... KEY ... SECRET within a few lines) searched every file
# that names its provider whole, and its regex's bounded repetitions cost ~360 ns a byte there;
# a hostile file naming many providers made a scan take minutes. Generates two 4 MB files
# (seeded, so every run reads the same text): names beside key words and short values; and the
# same with 40-character runs of letters and digits among them (a secret's shape, but glued to
# nothing a rule accepts). Prints keyrot's time on each and its ratio to `grep -ciE` reading the
# same file in the same run. Asserts nothing.
#
# usage: bench/dense.sh
set -euo pipefail
source "$(dirname "$0")/corpus.sh"
need hyperfine "apt-get install hyperfine"
build_keyrot

dense="$work/dense"
mkdir -p "$dense/names" "$dense/runs"
# Provider names as the rules spell them, lower-case, one word each.
"$keyrot" rules list | awk '{print tolower($2)}' | grep -E '^[a-z][a-z0-9.]+$' | sort -u > "$dense/providers"
python3 - "$dense" <<'PY'
import random, sys
base = sys.argv[1]
names = open(f"{base}/providers").read().split()
words = ["key", "token", "secret", "pass", "api_key", "auth"]
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
for variant, runs in (("names", 0.0), ("runs", 0.15)):
    rng = random.Random(7)
    out, size = [], 0
    while size < 4_000_000:
        if rng.random() < runs:
            word = "".join(rng.choice(alphabet) for _ in range(40))
        else:
            word = rng.choice(names + words) + "".join(rng.choice('abcdefghij =:"') for _ in range(rng.randint(1, 12)))
        out.append(word)
        size += len(word) + 1
    with open(f"{base}/{variant}/dense.txt", "w") as f:
        f.write(" ".join(out))
PY

for variant in names runs; do
  file="$dense/$variant/dense.txt"
  hyperfine --warmup 1 --runs "${KEYROT_BENCH_RUNS:-3}" --style basic --export-json "$dense/$variant.json" \
    -n grep "grep -ciE 'key|token|secret' $file > /dev/null || true" \
    -n keyrot "$keyrot scan --quiet --format json $file > /dev/null || true" >/dev/null
  python3 - "$dense/$variant.json" "$variant" "$file" <<'PY'
import json, os, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
mb = os.path.getsize(sys.argv[3]) / 1048576
print(f"{sys.argv[2]:>6} ({mb:.1f} MB): keyrot {r['keyrot']:6.2f} s  {mb / r['keyrot']:6.1f} MB/s   {r['keyrot'] / r['grep']:6.1f}x grep -ciE at {r['grep']:.3f} s")
PY
done
