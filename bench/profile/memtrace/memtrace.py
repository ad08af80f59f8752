#!/usr/bin/env python3
"""Names the call sites of a memtrace table (see memtrace.c) from a binary's symbol table.

usage: memtrace.py TRACE BINARY [ROWS] [--per N]
Prints total bytes by kind (c = memcpy, m = memmove, s = memset), then the ROWS (default 12)
largest sites: kind, bytes per call, calls, and the enclosing function. With --per N, also
the bytes per unit of N (e.g. the number of updates in the run).
"""
import bisect
import subprocess
import sys


def symbols(binary):
    out = subprocess.run(["nm", "-C", "--defined-only", binary],
                         capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            try:
                syms.append((int(parts[0], 16), parts[2]))
            except ValueError:
                pass
    syms.sort()
    return syms


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    per = None
    if "--per" in sys.argv:
        per = int(sys.argv[sys.argv.index("--per") + 1])
        args.remove(str(per))
    trace, binary = args[0], args[1]
    rows_shown = int(args[2]) if len(args) > 2 else 12
    syms = symbols(binary)
    addrs = [a for a, _ in syms]
    rows = [line.split(maxsplit=4) for line in open(trace)]
    rows.sort(key=lambda r: -int(r[1]))
    totals = {}
    for r in rows:
        totals[r[0]] = totals.get(r[0], 0) + int(r[1])
    print("total MB:", {k: round(v / 1e6, 1) for k, v in sorted(totals.items())})
    if per:
        print(f"KB per unit (/{per}):", {k: round(v / per / 1e3, 1) for k, v in sorted(totals.items())})
    for r in rows[:rows_shown]:
        kind, total, calls, offset = r[0], int(r[1]), int(r[2]), int(r[3], 16)
        name = "?"
        if r[4].strip() == binary or r[4].strip().endswith("/" + binary.split("/")[-1]):
            i = bisect.bisect_right(addrs, offset) - 1
            name = syms[i][1] if i >= 0 else "?"
        print(f"{kind} {total // calls:>8} B x {calls:>6}  {name[:110]}")


if __name__ == "__main__":
    main()
