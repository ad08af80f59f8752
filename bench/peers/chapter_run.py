"""Time the training loop of the chapter's ch08/dqn.py, unmodified.

usage: python chapter_run.py PATH/TO/ch08/dqn.py

The chapter's file is executed as __main__ with three hooks of ours:
  * random and numpy.random are seeded with 0 before it runs, and the
    environment's first reset gets seed=0;
  * gym.make returns the real env with step/reset wrapped: every env.step
    call is counted, and the clock starts at the first env.reset;
  * the clock stops at the first matplotlib call (xlabel/ylabel/plot/show),
    which the chapter makes right after its 300-episode loop; we stop the
    script there, so the plot and the greedy "play" episode are not run.
"""
import random
import runpy
import sys
import time

import matplotlib

matplotlib.use("Agg")
import gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SEED = 0
stats = {"steps": 0, "episodes": 0, "t0": None, "t1": None}


class TrainingDone(Exception):
    pass


_real_make = gym.make


def counting_make(*args, **kwargs):
    env = _real_make(*args, **kwargs)
    real_step, real_reset = env.step, env.reset

    def reset(**kw):
        if stats["t0"] is None:
            kw.setdefault("seed", SEED)
            stats["t0"] = time.perf_counter()
        stats["episodes"] += 1
        return real_reset(**kw)

    def step(action):
        stats["steps"] += 1
        return real_step(action)

    env.reset, env.step = reset, step
    return env


def stop_clock(*args, **kwargs):
    stats["t1"] = time.perf_counter()
    raise TrainingDone


def main():
    path = sys.argv[1]
    random.seed(SEED)
    np.random.seed(SEED)
    gym.make = counting_make
    for name in ("xlabel", "ylabel", "plot", "show"):
        setattr(plt, name, stop_clock)
    try:
        runpy.run_path(path, run_name="__main__")
    except TrainingDone:
        pass
    else:
        sys.exit("the script ended without reaching its plotting code")
    wall = stats["t1"] - stats["t0"]
    print(
        f"RESULT tool=chapter-dezero episodes={stats['episodes']} "
        f"env_steps={stats['steps']} wall_s={wall:.3f} "
        f"steps_per_s={stats['steps'] / wall:.1f}"
    )


if __name__ == "__main__":
    main()
