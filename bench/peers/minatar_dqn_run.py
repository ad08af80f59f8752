"""One seed of MinAtar's own DQN (examples/dqn.py, unmodified): per-episode returns and wall time.

usage: python minatar_dqn_run.py DQN_PY --seed S --parts DIR [--game breakout] [--frames 200000]

DQN_PY is the repo's examples/dqn.py; it is loaded as a module from its path (its text is
not changed) and its own dqn() function does all the training. Our hooks:
  * the module global NUM_FRAMES is set to --frames (the file's default is 5,000,000);
    every other constant (REPLAY_START_SIZE, FIRST_N_FRAMES, ...) stays as the file has it;
  * random, numpy.random and torch are seeded with --seed and torch uses 1 thread;
  * the env is minatar.Environment(game) with its defaults (sticky_action_prob=0.1,
    difficulty_ramping=True), seeded with env.seed(seed): minatar 1.0.15's constructor
    takes no seed argument; env.seed gives the sticky-action draw and the game one
    RandomState(seed);
  * env.act is wrapped only to count calls and to remember the last step's terminal flag,
    so the last episode is marked cut exactly when the frame budget, not the game, ended it.
The clock (time.perf_counter) covers the dqn() call: training plus its final torch.save.
Returns and frame stamps are read back from the <name>_data_and_weights file dqn() saves.
"""
import argparse
import importlib.util
import logging
import os
import random
import sys
import tempfile
import time

import numpy
import torch
from minatar import Environment

import parity_common


class CountingEnv:
    """Passes everything to the real Environment; counts act() calls and keeps the last terminal flag."""

    def __init__(self, env, every):
        self._env = env
        self.frames = 0
        self.last_terminal = None
        self.every = every
        self.t0 = None

    def __getattr__(self, name):
        return getattr(self._env, name)

    def act(self, a):
        r, terminal = self._env.act(a)
        self.frames += 1
        self.last_terminal = bool(terminal)
        if self.every and self.frames % self.every == 0:
            el = time.perf_counter() - self.t0
            print(f"progress frames={self.frames} elapsed_s={el:.1f} frames_per_s={self.frames / el:.1f}",
                  file=sys.stderr, flush=True)
        return r, terminal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dqn_py")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--parts", required=True, help="folder for seed-S.csv / seed-S.json")
    ap.add_argument("--game", default="breakout")
    ap.add_argument("--frames", type=int, default=200000)
    ap.add_argument("--progress", type=int, default=20000, help="print progress every N frames (0: never)")
    ap.add_argument("--blob", default=None, help="git blob id of DQN_PY, recorded in the JSON")
    args = ap.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # dqn.py logs every 1000 episodes
    spec = importlib.util.spec_from_file_location("minatar_examples_dqn", args.dqn_py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if mod.device.type != "cpu":
        sys.exit(f"dqn.py chose device {mod.device}; run with CUDA_VISIBLE_DEVICES= for the CPU reference")
    mod.NUM_FRAMES = args.frames

    torch.set_num_threads(1)
    random.seed(args.seed)
    numpy.random.seed(args.seed)
    torch.manual_seed(args.seed)
    env = Environment(args.game)  # sticky_action_prob=0.1, difficulty_ramping=True (defaults)
    env.seed(args.seed)
    env = CountingEnv(env, args.progress)

    with tempfile.TemporaryDirectory(prefix="minatar-dqn-") as tmp:
        name = os.path.join(tmp, f"{args.game}_seed{args.seed}")
        env.t0 = t0 = time.perf_counter()
        mod.dqn(env, replay_off=False, target_off=False, output_file_name=name)
        wall = time.perf_counter() - t0
        data = torch.load(name + "_data_and_weights")
    returns, stamps = data["returns"], data["frame_stamps"]

    if env.frames != args.frames or not stamps or stamps[-1] != args.frames or len(returns) != len(stamps):
        sys.exit(f"unexpected run: env.act calls {env.frames}, last stamp {stamps[-1] if stamps else None}, "
                 f"{len(returns)} returns / {len(stamps)} stamps, budget {args.frames}")
    if any(b <= a for a, b in zip(stamps, stamps[1:])):
        sys.exit("frame stamps are not increasing")
    # The loop stops at t == NUM_FRAMES; the episode then appended is cut unless its last step was terminal.
    last_cut = not env.last_terminal
    rows = [(i, f, g, last_cut and i == len(stamps) - 1) for i, (f, g) in enumerate(zip(stamps, returns))]

    meta = {
        "tool": "minatar-examples-dqn",
        "repo": "https://github.com/kenjyoung/MinAtar",
        "commit": os.environ.get("PARITY_COMMIT"),
        "file": "examples/dqn.py",
        "blob": args.blob,
        "env": args.game,
        "frames_budget": args.frames,
        "settings": {
            "sticky_action_prob": env._env.sticky_action_prob,
            "difficulty_ramping": True,
            "env_seeding": "Environment(game); env.seed(seed)",
            "dqn_call": "dqn(env, replay_off=False, target_off=False, output_file_name=...)",
            "module_constants": {k: getattr(mod, k) for k in (
                "BATCH_SIZE", "REPLAY_BUFFER_SIZE", "TARGET_NETWORK_UPDATE_FREQ", "TRAINING_FREQ",
                "NUM_FRAMES", "FIRST_N_FRAMES", "REPLAY_START_SIZE", "END_EPSILON", "STEP_SIZE",
                "SQUARED_GRAD_MOMENTUM", "MIN_SQUARED_GRAD", "GAMMA", "EPSILON")},
        },
        "versions": parity_common.versions("torch", "numpy", "gymnasium", "minatar"),
        "device": str(mod.device),
        "torch_threads": torch.get_num_threads(),
        "command": os.environ.get("PARITY_CMDLINE", " ".join(sys.argv)),
        "seed": {
            "seed": args.seed,
            "wall_s": round(wall, 3),
            "frames": env.frames,
            "frames_per_s": round(env.frames / wall, 1),
            "episodes": len(rows),
            "cut_episodes": int(last_cut),
            "runner_argv": sys.argv[1:],
            "cpu": parity_common.cpu_info(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    parity_common.write_part(args.parts, args.seed, rows, meta)
    done = [g for i, (f, g) in enumerate(zip(stamps, returns)) if not (last_cut and i == len(stamps) - 1)]
    print(f"RESULT tool=minatar-examples-dqn game={args.game} seed={args.seed} episodes={len(rows)} "
          f"cut={int(last_cut)} frames={env.frames} wall_s={wall:.3f} frames_per_s={env.frames / wall:.1f} "
          f"last_return={done[-1] if done else 'NaN'}", flush=True)


if __name__ == "__main__":
    main()
