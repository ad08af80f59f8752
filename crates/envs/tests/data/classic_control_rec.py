"""Record Acrobot-v1 and MountainCar-v0 trajectories from Gymnasium for the Rust ports' replay
tests (crates/envs/tests/classic_control.rs).

    python -m venv venv && venv/bin/pip install gymnasium==1.4.0 numpy==2.4.6
    venv/bin/python classic_control_rec.py | gzip -9 -n > classic_control_trajectories.csv.gz

Each trajectory starts from a Gymnasium reset (seeded) and is driven by a scripted policy
that mixes random actions with energy pumping, so that episodes end by termination as well as
by the time limit. Every row is one step: the action taken, the internal state after it (the
physics' float64 values), the float32 observation, the reward and the flags. Row t = 0 is the
reset state. Floats are written with repr(), which round-trips exactly.
"""
import gymnasium as gym
import numpy as np

HEADER = "env,traj,t,action,s0,s1,s2,s3,o0,o1,o2,o3,o4,o5,reward,terminated,truncated"


def state_of(env_id, env):
    s = env.unwrapped.state
    return [float(x) for x in s] + [None] * (4 - len(s))


def pump(env_id, state, rng):
    """Energy pumping: push along the car's velocity (MountainCar), or along the second
    joint's speed (Acrobot)."""
    if env_id == "MountainCar-v0":
        return 2 if state[1] >= 0 else 0
    return 2 if state[3] >= 0 else 0


def fmt(x):
    return "" if x is None else repr(float(x))


def record(env_id, traj, out):
    env = gym.make(env_id)
    rng = np.random.default_rng(1000 + traj)
    obs, _ = env.reset(seed=traj)
    # Trajectories differ in how often they act at random instead of pumping.
    p_random = [1.0, 0.6, 0.3, 0.1][traj % 4]
    state = state_of(env_id, env)
    obs6 = list(obs) + [None] * (6 - len(obs))
    out.append(",".join([env_id, str(traj), "0", ""] + [fmt(x) for x in state + obs6] + ["", "", ""]))
    t = 0
    while True:
        t += 1
        if rng.random() < p_random:
            action = int(rng.integers(0, 3))
        else:
            action = pump(env_id, state, rng)
        obs, reward, terminated, truncated, _ = env.step(action)
        state = state_of(env_id, env)
        obs6 = list(obs) + [None] * (6 - len(obs))
        out.append(",".join(
            [env_id, str(traj), str(t), str(action)]
            + [fmt(x) for x in state + obs6]
            + [fmt(reward), str(int(terminated)), str(int(truncated))]
        ))
        if terminated or truncated:
            break
    env.close()


def main():
    out = [HEADER]
    for env_id in ["Acrobot-v1", "MountainCar-v0"]:
        for traj in range(8):
            record(env_id, traj, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
