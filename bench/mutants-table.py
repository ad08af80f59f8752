#!/usr/bin/env python3
"""Per-file table of cargo-mutants runs (bench/mutants.sh), from each run's
mutants.out/outcomes.json: caught / missed / timeout / unviable / not run, and the share of
viable mutants caught (a timeout counts as caught: the tests did not pass).

Runs named <group>-recheck re-test the survivors of the other runs after new tests were
added; a survivor is then "killed" (caught by the recheck), "excluded" (.cargo/mutants.toml
says why it cannot matter), "removed" (its code was deleted as dead) or still "missed". The
"after" column is the share caught once those are accounted for.

Usage: bench/mutants-table.py [bench/results/mutants]   (Markdown on stdout)
"""
import collections
import json
import pathlib
import re
import subprocess
import sys
import tomllib

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/mutants")
KINDS = {"CaughtMutant": "caught", "MissedMutant": "missed", "Unviable": "unviable",
         "Timeout": "timeout"}


def key(name):
    """A mutant's identity without its line (lines move as code and tests are added; the
    column tells apart two mutants of the same operator in one function)."""
    return re.sub(r":\d+:(\d+): ", r":\1: ", name)


def outcomes(run):
    out = run / "mutants.out"
    if not (out / "outcomes.json").exists():
        return [], []
    tested = []
    for o in json.loads((out / "outcomes.json").read_text())["outcomes"]:
        m = o["scenario"].get("Mutant") if isinstance(o["scenario"], dict) else None
        if m is not None:  # not the unmutated baseline
            tested.append((m["file"], m["name"], KINDS.get(o["summary"], "other")))
    names = {n for _, n, _ in tested}
    planned = [(m["file"], m["name"]) for m in json.loads((out / "mutants.json").read_text())
               if m["name"] not in names] if (out / "mutants.json").exists() else []
    return tested, planned


runs = sorted(p for p in root.iterdir() if (p / "mutants.out").is_dir())
recheck = {}
for run in (r for r in runs if r.name.endswith("-recheck")):
    for _, name, kind in outcomes(run)[0]:
        # caught by any recheck (a later one may follow a new test) counts as killed
        if recheck.get(key(name)) not in ("caught", "timeout"):
            recheck[key(name)] = kind
config = pathlib.Path(".cargo/mutants.toml")
excluded = tomllib.loads(config.read_text()).get("exclude_re", []) if config.exists() else []

rows = collections.OrderedDict()
survivors = []
for run in (r for r in runs if not r.name.endswith("-recheck")):
    tested, planned = outcomes(run)
    for f, name, kind in tested:
        c = rows.setdefault(f, collections.Counter())
        c[kind] += 1
        if kind == "missed":
            survivors.append((f, name))
    for f, _ in planned:
        rows.setdefault(f, collections.Counter())["not run"] += 1

# What became of each survivor.
current = {}
for f in {f for f, _ in survivors}:
    try:
        listed = subprocess.run(
            ["cargo", "mutants", "--list", "--workspace", "--no-config", "-f", f],
            capture_output=True, text=True, check=True).stdout.splitlines()
        current[f] = {key(n) for n in listed}
    except (OSError, subprocess.CalledProcessError):
        print(f"note: `cargo mutants --list` failed for {f} (is cargo-mutants installed?); "
              "survivors whose code was removed show as missed", file=sys.stderr)
        current[f] = None
fate = {}
for f, name in survivors:
    k = key(name)
    if k in recheck and recheck[k] in ("caught", "timeout"):
        fate[name] = "killed"
    elif any(re.search(x, name) for x in excluded):
        fate[name] = "excluded"
    elif current[f] is not None and k not in current[f]:
        fate[name] = "removed"
    else:
        fate[name] = "missed"
for f, name in survivors:
    rows[f]["fate:" + fate[name]] += 1


def share(caught, viable):
    return f"{100 * caught / viable:.0f}%" if viable else "–"


print("| file | caught | missed | timeout | unviable | not run | caught / viable "
      "| survivors killed / excluded / removed / still missed | after |")
print("|---|---|---|---|---|---|---|---|---|")
total = collections.Counter()
for c in rows.values():
    total.update(c)
for f, c in list(rows.items()) + [("**all**", total)]:
    viable = c["caught"] + c["missed"] + c["timeout"]
    caught = c["caught"] + c["timeout"]
    after_viable = viable - c["fate:excluded"] - c["fate:removed"]
    print(f"| {f} | {c['caught']} | {c['missed']} | {c['timeout']} | {c['unviable']} "
          f"| {c['not run']} | {share(caught, viable)} "
          f"| {c['fate:killed']} / {c['fate:excluded']} / {c['fate:removed']} / {c['fate:missed']} "
          f"| {share(caught + c['fate:killed'], after_viable)} |")
if survivors:
    print("\nSurvivors of the first runs:\n")
    for f, name in survivors:
        print(f"- `{name}`: {fate[name]}")
