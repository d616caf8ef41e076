#!/usr/bin/env bash
# Labelled evaluation set: recall and false-positive rate per category (bench/labelled/*.txt).
# Usage: bench/labelled.sh [KEYROT_BINARY] [--gitleaks PATH] [-v] [--only CATEGORY] [--keep]
# Default binary: target/release/keyrot. Python 3 standard library only; builds nothing.
set -euo pipefail
exec python3 "$(dirname "$0")/labelled.py" "$@"
