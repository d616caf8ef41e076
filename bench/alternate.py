#!/usr/bin/env python3
"""Times two or more commands run in turn, so that a machine whose speed drifts between runs
(load from elsewhere, frequency scaling) slows them all alike: round after round, each command
once, then each one's median, first quartile and mean. hyperfine runs one command's runs
before the next one's, which on a busy 2-core machine moved the ratio of two keyrot builds by
more than the change being measured. Times include starting the process from Python (about a
millisecond), the same for every command: compare them with each other, not with hyperfine's.

usage: bench/alternate.py RUNS CMD [ARGS...] -- CMD [ARGS...] [-- ...]
e.g.   bench/alternate.py 200 /tmp/keyrot-before scan --staged -- target/release/keyrot scan --staged
"""
import statistics
import subprocess
import sys
import time

WARMUP = 5


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__.split("\n\n")[-1])
    runs = int(sys.argv[1])
    commands, current = [], []
    for arg in sys.argv[2:]:
        if arg == "--":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    if any(not command for command in commands):
        sys.exit("alternate.py: an empty command")
    times = [[] for _ in commands]
    for round_ in range(WARMUP + runs):
        for command, spent in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if round_ >= WARMUP:
                spent.append((time.perf_counter() - start) * 1000)
    for command, spent in zip(commands, times):
        spent.sort()
        name = " ".join(command)
        print(f"{name[:60]:60}  median {statistics.median(spent):8.2f} ms  "
              f"first quartile {spent[len(spent) // 4]:8.2f}  mean {statistics.mean(spent):8.2f}")


if __name__ == "__main__":
    main()
