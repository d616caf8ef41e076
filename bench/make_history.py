#!/usr/bin/env python3
"""Writes a git fast-import stream for a long, realistic history built from real text files:
each commit edits a few files of a corpus (inserting and replacing lines) and now and then adds a
new one, on a main line with occasional feature branches merged back. Deterministic for a seed.

usage: make_history.py CORPUS_DIR COMMITS | git fast-import --quiet
"""
import os
import random
import sys

corpus_dir, commits = sys.argv[1], int(sys.argv[2])
rng = random.Random(1234)

pool = []
for root, _, names in os.walk(corpus_dir):
    for name in names:
        if name.endswith((".py", ".rs", ".md", ".txt", ".toml", ".c", ".h")):
            path = os.path.join(root, name)
            size = os.path.getsize(path)
            if 2_000 <= size <= 200_000:
                pool.append(path)
pool.sort()
rng.shuffle(pool)

out = sys.stdout.buffer
files = {}  # repository path -> list of lines (bytes)
next_new = 0


def add_file():
    global next_new
    src = pool[next_new % len(pool)]
    next_new += 1
    with open(src, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    repo_path = f"src/{next_new % 97:02d}/{os.path.basename(src)}"
    files[repo_path] = lines
    return repo_path


def edit_file(path, n):
    lines = files[path]
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(lines) + 1)
        text = f"# change {n}.{rng.randrange(1 << 30):x}: adjust behaviour for case {rng.randrange(10_000)}\n"
        if lines and rng.random() < 0.5 and at < len(lines):
            lines[at] = text.encode()
        else:
            lines.insert(at, text.encode())


def emit_commit(ref, n, changed, parents):
    when = 1_600_000_000 + n * 3_600
    msg = f"commit {n}\n".encode()
    out.write(f"commit {ref}\nmark :{n + 1}\n".encode())
    out.write(f"author Bench <bench@localhost> {when} +0000\ncommitter Bench <bench@localhost> {when} +0000\n".encode())
    out.write(f"data {len(msg)}\n".encode() + msg)
    for i, p in enumerate(parents):
        out.write(f"{'from' if i == 0 else 'merge'} :{p}\n".encode())
    for path in changed:
        data = b"".join(files[path])
        out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    out.write(b"\n")


for _ in range(40):
    add_file()
main_tip = None
branch_tip = None
for n in range(commits):
    on_branch = branch_tip is not None and rng.random() < 0.5
    changed = set()
    if rng.random() < 0.08:
        changed.add(add_file())
    for path in rng.sample(sorted(files), k=min(4, len(files))):
        edit_file(path, n)
        changed.add(path)
    if on_branch:
        emit_commit("refs/heads/feature", n, sorted(changed), [branch_tip])
        branch_tip = n + 1
        continue
    parents = [main_tip] if main_tip else []
    if branch_tip is not None and rng.random() < 0.1:
        parents.append(branch_tip)
        branch_tip = None
    emit_commit("refs/heads/main", n, sorted(changed), parents)
    main_tip = n + 1
    if branch_tip is None and rng.random() < 0.05:
        branch_tip = main_tip
