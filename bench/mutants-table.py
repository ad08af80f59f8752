#!/usr/bin/env python3
"""Per-file table of a cargo-mutants run (bench/mutants.sh): caught / missed / unviable / timeout
and the share of viable mutants caught (a timeout counts as caught: the tests did not pass), from each group's mutants.out/outcomes.json.

Usage: bench/mutants-table.py [bench/results/mutants]   (Markdown on stdout)
Mutants still untested (a run stopped early) are counted from mutants.json as "not run".
"""
import collections
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/mutants")
rows = collections.OrderedDict()
# cargo-mutants' outcome summaries
KINDS = {"CaughtMutant": "Caught", "MissedMutant": "Missed", "Unviable": "Unviable",
         "Timeout": "Timeout"}
for group in sorted(p for p in root.iterdir() if (p / "mutants.out").is_dir()):
    out = group / "mutants.out"
    tested = set()
    if (out / "outcomes.json").exists():
        for o in json.loads((out / "outcomes.json").read_text())["outcomes"]:
            m = o["scenario"].get("Mutant") if isinstance(o["scenario"], dict) else None
            if m is None:  # the unmutated baseline
                continue
            counts = rows.setdefault(m["file"], collections.Counter())
            counts[KINDS.get(o["summary"], "Other")] += 1
            tested.add(m["name"])
    if (out / "mutants.json").exists():
        for m in json.loads((out / "mutants.json").read_text()):
            if m["name"] not in tested:
                rows.setdefault(m["file"], collections.Counter())["not run"] += 1

print("| file | caught | missed | timeout | unviable | not run | caught / viable |")
print("|---|---|---|---|---|---|---|")
total = collections.Counter()
for f, c in rows.items():
    total.update(c)
for f, c in list(rows.items()) + [("**all**", total)]:
    viable = c["Caught"] + c["Missed"] + c["Timeout"]
    share = f"{100 * (c['Caught'] + c['Timeout']) / viable:.0f}%" if viable else "–"
    print(f"| {f} | {c['Caught']} | {c['Missed']} | {c['Timeout']} | {c['Unviable']} "
          f"| {c['not run']} | {share} |")
