#!/usr/bin/env bash
# Shared by the benchmarks: where the real text on this machine is (the Python standard library
# and the crate sources cargo has downloaded), and how to build keyrot for measuring.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(dirname "$bench_dir")
work=${KEYROT_BENCH_DIR:-${TMPDIR:-/tmp}/keyrot-bench}
mkdir -p "$work"

python_stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
cargo_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ 2>/dev/null | head -n 1)

build_keyrot() {
  (cd "$project" && cargo build --release --locked --quiet)
  keyrot="$project/target/release/keyrot"
}

need() {
  command -v "$1" >/dev/null || { echo "bench: needs $1 ($2)" >&2; exit 2; }
}

# Copies the text corpus (stdlib without site-packages, plus cargo's crate sources) into $1.
copy_corpus() {
  local dest=$1
  mkdir -p "$dest"
  rsync -a --exclude site-packages --exclude __pycache__ --exclude '*.pyc' "$python_stdlib/" "$dest/python/"
  if [ -n "$cargo_src" ]; then
    rsync -a "$cargo_src" "$dest/crates/"
  fi
}

mb() { du -sb "$1" | awk '{printf "%.1f", $1 / 1048576}'; }
