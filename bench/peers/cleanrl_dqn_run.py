"""One seed of CleanRL's DQN (cleanrl/dqn.py, unmodified): per-episode returns and wall time.

usage: python cleanrl_dqn_run.py CHECKOUT --seed S --parts DIR [--env-id CartPole-v1] [--total-timesteps 500000]

CHECKOUT/cleanrl/dqn.py runs as __main__ (runpy.run_path) with
    sys.argv = [dqn.py, --env-id E, --seed S, --total-timesteps N, --no-cuda]
and every other argument at CleanRL's default; CHECKOUT goes on sys.path for cleanrl_utils,
the working directory is a temporary folder (its runs/ tensorboard folder lands there and is
deleted afterwards), torch uses 1 thread. Nothing else of the script is touched.

Episodes: the script prints `global_step=G, episodic_return=[R]` for each episode that ends
(gymnasium 0.29.1's `final_info`, filled by RecordEpisodeStatistics); G is the 0-based index of
the step that ended it, so frames = G + 1 env steps had been taken. Those lines are read from
its stdout (teed through); as a check, the tensorboard file's charts/episodic_return and
charts/episodic_length must agree with them (same steps and returns, and the lengths must add
up to G + 1 at every episode). An episode still running when total_timesteps runs out is not
reported by CleanRL, so no episode is cut (cut = 0).
The clock (time.perf_counter) covers the run_path call: argument parsing, SummaryWriter, env
and network setup (small), then the total_timesteps loop. The modules the script imports
(gymnasium, tyro, torch.utils.tensorboard, cleanrl_utils.buffers) are imported before the
clock starts, so their loading time is not counted.
"""
import argparse
import glob
import importlib
import os
import re
import runpy
import sys
import tempfile
import time

import torch

import parity_common

LINE = re.compile(r"^global_step=(\d+), episodic_return=\[([^\]\s]+)\]$")


class Tee:
    def __init__(self, real):
        self.real = real
        self.buf = []

    def write(self, s):
        self.buf.append(s)
        return self.real.write(s)

    def flush(self):
        self.real.flush()

    def __getattr__(self, name):
        return getattr(self.real, name)


def tensorboard_episodes(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    r = [(e.step, e.value) for e in acc.Scalars("charts/episodic_return")]
    l = [(e.step, e.value) for e in acc.Scalars("charts/episodic_length")]
    return r, l


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--parts", required=True, help="folder for seed-S.csv / seed-S.json")
    ap.add_argument("--env-id", default="CartPole-v1")
    ap.add_argument("--total-timesteps", type=int, default=500000)
    ap.add_argument("--blob", default=None, help="git blob id of cleanrl/dqn.py, recorded in the JSON")
    ap.add_argument("--buffers-blob", default=None, help="git blob id of cleanrl_utils/buffers.py")
    args = ap.parse_args()
    runner_argv = sys.argv[1:]

    checkout = os.path.abspath(args.checkout)
    script = os.path.join(checkout, "cleanrl", "dqn.py")
    sys.path.insert(0, checkout)
    parts = os.path.abspath(args.parts)
    torch.set_num_threads(1)
    cl_argv = ["--env-id", args.env_id, "--seed", str(args.seed),
               "--total-timesteps", str(args.total_timesteps), "--no-cuda"]

    # The script's imports, done before the clock starts so that it times the run, not module loading.
    for name in ("gymnasium", "tyro", "torch.utils.tensorboard", "cleanrl_utils.buffers"):
        importlib.import_module(name)

    cwd = os.getcwd()
    tee = Tee(sys.stdout)
    with tempfile.TemporaryDirectory(prefix="cleanrl-dqn-") as tmp:
        os.chdir(tmp)
        sys.argv = [script] + cl_argv
        sys.stdout = tee
        try:
            t0 = time.perf_counter()
            g = runpy.run_path(script, run_name="__main__")
            wall = time.perf_counter() - t0
        finally:
            sys.stdout = tee.real
            os.chdir(cwd)
        run_dirs = glob.glob(os.path.join(tmp, "runs", "*"))
        if len(run_dirs) != 1:
            sys.exit(f"expected one runs/ folder, found {run_dirs}")
        tb_r, tb_l = tensorboard_episodes(run_dirs[0])
    cl_args = g["args"]
    if str(g["device"]) != "cpu":
        sys.exit(f"dqn.py ran on {g['device']}")

    printed = []
    for line in "".join(tee.buf).splitlines():
        if line.startswith("global_step="):
            m = LINE.match(line)
            if not m:
                sys.exit(f"cannot parse {line!r}")
            printed.append((int(m.group(1)), float(m.group(2))))
    # Cross-check against tensorboard: same steps, same returns (float32 there), lengths add up.
    if [s for s, _ in printed] != [s for s, _ in tb_r] or [s for s, _ in tb_l] != [s for s, _ in tb_r]:
        sys.exit("printed episodes and tensorboard events disagree on steps")
    total = 0
    for (step, ret), (_, tbr), (_, length) in zip(printed, tb_r, tb_l):
        total += int(length)
        if abs(ret - tbr) > 1e-3 * max(1.0, abs(ret)) or total != step + 1:
            sys.exit(f"episode ending at step {step}: printed {ret}, tensorboard {tbr}, lengths sum {total}")
    if any(b <= a for (a, _), (b, _) in zip(printed, printed[1:])):
        sys.exit("episode end steps are not increasing")
    rows = [(i, step + 1, ret, False) for i, (step, ret) in enumerate(printed)]
    frames = cl_args.total_timesteps

    meta = {
        "tool": "cleanrl-dqn",
        "repo": "https://github.com/vwxyzjn/cleanrl",
        "commit": os.environ.get("PARITY_COMMIT"),
        "file": "cleanrl/dqn.py",
        "blob": args.blob,
        "extra_blobs": {"cleanrl_utils/buffers.py": args.buffers_blob},
        "env": args.env_id,
        "frames_budget": args.total_timesteps,
        "settings": {"cleanrl_argv": " ".join(cl_argv).replace(f"--seed {args.seed}", "--seed S"),
                     "args": {k: v for k, v in vars(cl_args).items() if k != "seed"}},
        "versions": parity_common.versions("torch", "numpy", "gymnasium", "minatar", "tyro", "tensorboard"),
        "device": str(g["device"]),
        "torch_threads": torch.get_num_threads(),
        "command": os.environ.get("PARITY_CMDLINE", " ".join(sys.argv)),
        "seed": {
            "seed": args.seed,
            "wall_s": round(wall, 3),
            "frames": frames,
            "frames_per_s": round(frames / wall, 1),
            "episodes": len(rows),
            "cut_episodes": 0,
            "steps_after_last_episode": frames - (printed[-1][0] + 1 if printed else 0),
            "runner_argv": runner_argv,
            "cpu": parity_common.cpu_info(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    parity_common.write_part(parts, args.seed, rows, meta)
    print(f"RESULT tool=cleanrl-dqn env={args.env_id} seed={args.seed} episodes={len(rows)} cut=0 "
          f"frames={frames} wall_s={wall:.3f} frames_per_s={frames / wall:.1f} "
          f"last_return={printed[-1][1] if printed else 'NaN'}", flush=True)


if __name__ == "__main__":
    main()
