"""Shared by minatar_dqn_run.py and cleanrl_dqn_run.py: per-seed part files and their merge.

Each seed's run writes two part files, PARTS/seed-S.csv and PARTS/seed-S.json, each
written to a temporary name and renamed, so a killed run leaves no half file and other
seeds' parts are untouched. `merge` then concatenates every part in PARTS into the CSV
(header seed,episode,frames,return,cut; rows by seed, then episode) and writes the JSON
(the run's description once, then one entry per seed).

usage: python parity_common.py merge PARTS OUT.csv OUT.json
"""
import csv
import glob
import json
import os
import platform
import sys

HEADER = ["seed", "episode", "frames", "return", "cut"]
# Keys every part of one merged file must agree on.
SHARED = ["tool", "repo", "commit", "file", "blob", "extra_blobs", "env", "frames_budget",
          "settings", "versions", "device", "torch_threads"]


def fmt(x):
    """A return as written: integral values without a trailing .0, others exactly (repr)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def versions(*modules):
    out = {"python": platform.python_version()}
    from importlib.metadata import version
    for name in modules:
        out[name] = version(name)
    return out


def cpu_info():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"affinity": sorted(os.sched_getaffinity(0)), "model": model, "nproc": os.cpu_count()}


def _atomic_write(path, write):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)


def write_part(parts, seed, rows, meta):
    """rows: (episode, frames, return, cut) tuples; meta: the JSON description of this seed's run."""
    os.makedirs(parts, exist_ok=True)

    def write_csv(f):
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for episode, frames, ret, cut in rows:
            w.writerow([seed, episode, frames, fmt(ret), int(cut)])

    _atomic_write(os.path.join(parts, f"seed-{seed}.csv"), write_csv)
    _atomic_write(os.path.join(parts, f"seed-{seed}.json"),
                  lambda f: f.write(json.dumps(meta, indent=1) + "\n"))


def merge(parts, out_csv, out_json):
    metas = []
    for path in glob.glob(os.path.join(parts, "seed-*.json")):
        with open(path) as f:
            metas.append(json.load(f))
    if not metas:
        sys.exit(f"merge: no parts in {parts}")
    metas.sort(key=lambda m: m["seed"]["seed"])
    first = metas[0]
    for m in metas[1:]:
        for k in SHARED:
            if m.get(k) != first.get(k):
                sys.exit(f"merge: seed {m['seed']['seed']} differs from seed "
                         f"{first['seed']['seed']} in {k!r}; remove stale parts from {parts}")
    rows = []
    for m in metas:
        seed = m["seed"]["seed"]
        with open(os.path.join(parts, f"seed-{seed}.csv"), newline="") as f:
            r = csv.reader(f)
            if next(r) != HEADER:
                sys.exit(f"merge: bad header in seed-{seed}.csv")
            part = list(r)
        if len(part) != m["seed"]["episodes"]:
            sys.exit(f"merge: seed-{seed}.csv has {len(part)} rows, its JSON says {m['seed']['episodes']}")
        rows.extend(part)

    def write_csv(f):
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)

    out = {k: first[k] for k in SHARED if k in first}
    commands = sorted({m["command"] for m in metas})
    out["command"] = commands[0] if len(commands) == 1 else commands
    out["seeds"] = [m["seed"] for m in metas]
    os.makedirs(os.path.dirname(os.path.abspath(out_csv)), exist_ok=True)
    _atomic_write(out_csv, write_csv)
    _atomic_write(out_json, lambda f: f.write(json.dumps(out, indent=1) + "\n"))
    seeds = ",".join(str(m["seed"]["seed"]) for m in metas)
    fps = [m["seed"]["frames_per_s"] for m in metas]
    print(f"RESULT tool={first['tool']} env={first['env']} seeds={seeds} episodes={len(rows)} "
          f"frames_per_s={min(fps)}..{max(fps)} csv={out_csv} json={out_json}")


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "merge":
        sys.exit(__doc__)
    merge(*sys.argv[2:])
