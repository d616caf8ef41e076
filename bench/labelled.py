#!/usr/bin/env python3
"""Labelled evaluation: recall and false positives of keyrot (and optionally gitleaks) per category.

Reads bench/labelled/*.txt. Each sample line is "+ PATH<TAB>CONTENT" (a secret that must be
reported) or "- PATH<TAB>CONTENT" (a look-alike that must not be); in CONTENT "\\n" is a newline,
"\\t" a tab and "\\\\" a backslash; "#" lines and blank lines are skipped. Every sample is written as
TMP/CATEGORY/N/PATH, one scan covers them all, and each finding is mapped back to its sample by the
directory it was found in. A positive counts as found when any finding lands in its directory.
Findings about a file's name alone (keyrot's kind "file", such as "a .env file is committed";
gitleaks' path-only rules, reported at line 0 with no secret) are left out: they say nothing about
the sample's content, and would otherwise count every .env sample as found or false.

Usage: bench/labelled.sh [KEYROT_BINARY] [--gitleaks PATH] [-v] [--only CATEGORY]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, 'labelled')


def unescape(text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '\\' and i + 1 < len(text):
            n = text[i + 1]
            if n in 'nt\\':
                out.append({'n': '\n', 't': '\t', '\\': '\\'}[n])
                i += 2
                continue
        out.append(c)
        i += 1
    return ''.join(out)


def load(only):
    cats = {}
    for name in sorted(os.listdir(DATA)):
        if not name.endswith('.txt'):
            continue
        cat = name[:-4]
        if only and cat not in only:
            continue
        samples = []
        with open(os.path.join(DATA, name), encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip('\n')
                if not line.strip() or line.startswith('#'):
                    continue
                if line[:2] not in ('+ ', '- ') or '\t' not in line:
                    sys.exit(f'{name}:{lineno}: expected "+ PATH<TAB>CONTENT" or "- PATH<TAB>CONTENT"')
                path, content = line[2:].split('\t', 1)
                path = path.strip()
                if not path or path.startswith('/') or '..' in path.split('/'):
                    sys.exit(f'{name}:{lineno}: bad path {path!r}')
                samples.append({'positive': line[0] == '+', 'path': path, 'content': unescape(content),
                                'raw': content, 'line': lineno})
        cats[cat] = samples
    return cats


def write_tree(root, cats):
    for cat, samples in cats.items():
        for n, s in enumerate(samples, 1):
            p = os.path.join(root, cat, str(n), s['path'])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w', encoding='utf-8') as f:
                f.write(s['content'] if s['content'].endswith('\n') else s['content'] + '\n')


def sample_of(root, path):
    """(category, index) for a path a scanner reported, or None."""
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    parts = rel.split(os.sep)
    if len(parts) < 3 or parts[0] == '..' or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def run_keyrot(binary, root):
    r = subprocess.run([binary, 'scan', root, '--format', 'json', '--no-ignore', '-q'],
                       capture_output=True, text=True, cwd=root)
    if r.returncode not in (0, 1):
        sys.exit(f'keyrot exited {r.returncode}:\n{r.stderr}')
    report = json.loads(r.stdout)
    if report.get('errors'):
        sys.exit(f'keyrot reported errors: {report["errors"]}')
    hits = {}
    for f in report['findings']:
        if f.get('kind') == 'file':
            continue
        for loc in f['locations']:
            path = loc['path'] if os.path.isabs(loc['path']) else os.path.join(root, loc['path'])
            key = sample_of(root, path)
            if key is None:
                sys.exit(f'keyrot finding outside the samples: {loc["path"]}')
            hits.setdefault(key, []).append(f['rule'])
    return hits


def run_gitleaks(binary, root):
    fd, report_path = tempfile.mkstemp(suffix='.json', prefix='gitleaks-')
    os.close(fd)
    try:
        r = subprocess.run([binary, 'dir', root, '--report-format', 'json', '--report-path', report_path,
                            '--no-banner', '--log-level', 'error'], capture_output=True, text=True, cwd=root)
        if r.returncode not in (0, 1):
            sys.exit(f'gitleaks exited {r.returncode}:\n{r.stderr}')
        with open(report_path, encoding='utf-8') as f:
            text = f.read().strip()
        findings = json.loads(text) if text else []
    finally:
        os.unlink(report_path)
    hits = {}
    for f in findings:
        if not f.get('Secret') and not f.get('StartLine'):
            continue
        path = f['File'] if os.path.isabs(f['File']) else os.path.join(root, f['File'])
        key = sample_of(root, path)
        if key is None:
            sys.exit(f'gitleaks finding outside the samples: {f["File"]}')
        hits.setdefault(key, []).append(f.get('RuleID', '?'))
    return hits


def score(cats, hits):
    rows = []
    for cat, samples in cats.items():
        pos = [i for i, s in enumerate(samples, 1) if s['positive']]
        neg = [i for i, s in enumerate(samples, 1) if not s['positive']]
        found = [i for i in pos if (cat, i) in hits]
        fps = [i for i in neg if (cat, i) in hits]
        missed = [i for i in pos if (cat, i) not in hits]
        rows.append((cat, len(pos), len(found), len(neg), len(fps), missed, fps))
    return rows


def pct(a, b):
    return f'{100.0 * a / b:5.1f}' if b else '    -'


def print_table(title, rows):
    print(f'\n{title}')
    print(f'{"category":<20} {"pos":>4} {"found":>5} {"recall%":>7}   {"neg":>4} {"FP":>4} {"FP%":>6}')
    tp = tf = tn = tfp = 0
    for cat, p, f, n, fp, _, _ in rows:
        print(f'{cat:<20} {p:>4} {f:>5} {pct(f, p):>7}   {n:>4} {fp:>4} {pct(fp, n):>6}')
        tp += p; tf += f; tn += n; tfp += fp
    print(f'{"total":<20} {tp:>4} {tf:>5} {pct(tf, tp):>7}   {tn:>4} {tfp:>4} {pct(tfp, tn):>6}')


def short(text, width=150):
    return text if len(text) <= width else text[:width - 3] + '...'


def print_details(title, cats, rows, hits):
    print(f'\n{title}: missed positives')
    for cat, _, _, _, _, missed, _ in rows:
        for i in missed:
            s = cats[cat][i - 1]
            print(f'  {cat}.txt:{s["line"]} {s["path"]}\t{short(s["raw"])}')
    print(f'\n{title}: false positives')
    for cat, _, _, _, _, _, fps in rows:
        for i in fps:
            s = cats[cat][i - 1]
            print(f'  {cat}.txt:{s["line"]} {s["path"]} [{",".join(sorted(set(hits[(cat, i)])))}]\t{short(s["raw"])}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('keyrot', nargs='?', default='target/release/keyrot')
    ap.add_argument('--gitleaks', metavar='PATH')
    ap.add_argument('-v', '--verbose', action='store_true', help='list missed positives and false positives')
    ap.add_argument('--only', action='append', metavar='CATEGORY')
    ap.add_argument('--keep', action='store_true', help='keep the temporary sample tree')
    a = ap.parse_args()
    binary = os.path.abspath(a.keyrot)
    if not os.access(binary, os.X_OK):
        sys.exit(f'no keyrot binary at {binary}')
    cats = load(a.only)
    root = tempfile.mkdtemp(prefix='keyrot-labelled-')
    try:
        write_tree(root, cats)
        results = [('keyrot', run_keyrot(binary, root))]
        if a.gitleaks:
            results.append(('gitleaks', run_gitleaks(os.path.abspath(a.gitleaks), root)))
        scored = [(name, score(cats, hits), hits) for name, hits in results]
        for name, rows, _ in scored:
            print_table(name, rows)
        if a.verbose:
            for name, rows, hits in scored:
                print_details(name, cats, rows, hits)
    finally:
        if a.keep:
            print(f'\nsamples kept in {root}', file=sys.stderr)
        else:
            shutil.rmtree(root)


if __name__ == '__main__':
    main()
