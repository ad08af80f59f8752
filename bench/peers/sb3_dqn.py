"""Env steps/s of one Stable-Baselines3 DQN training run on CartPole-v0, 1 thread.

usage: python sb3_dqn.py [--steps 20000] [--seed 0]

Hyperparameters follow the chapter (ch08/dqn.py) where SB3 allows; see
README.md for each deviation. The clock covers model.learn() only.
"""
import argparse
import time
import types

import gymnasium as gym
import stable_baselines3.dqn.dqn as sb3_dqn_module
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

# The chapter uses MSE loss; SB3's DQN.train() calls F.smooth_l1_loss (Huber).
# Point the name SB3's dqn module uses at torch's MSE instead.
sb3_dqn_module.F = types.SimpleNamespace(smooth_l1_loss=torch.nn.functional.mse_loss)


class SyncEveryEpisodes(BaseCallback):
    """Hard target sync after episode 0, 20, 40, ... as the chapter does."""

    def __init__(self, every):
        super().__init__()
        self.every = every
        self.episodes = 0

    def _on_step(self):
        if self.locals["dones"][0]:
            if self.episodes % self.every == 0:
                self.model.q_net_target.load_state_dict(self.model.q_net.state_dict())
            self.episodes += 1
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    env = gym.make("CartPole-v0")  # TimeLimit 200, as the chapter's gym env
    model = DQN(
        "MlpPolicy",
        env,
        learning_rate=5e-4,
        gamma=0.98,
        buffer_size=10000,
        batch_size=32,
        learning_starts=31,  # SB3 trains once num_timesteps > 31, i.e. at 32 transitions
        train_freq=1,
        gradient_steps=1,
        exploration_initial_eps=0.1,
        exploration_final_eps=0.1,
        target_update_interval=10**9,  # SB3's step-based sync off; callback syncs by episode
        max_grad_norm=float("inf"),  # SB3 clips at 10 by default; the chapter does not clip
        policy_kwargs=dict(net_arch=[128, 128], activation_fn=torch.nn.ReLU),
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    sync = SyncEveryEpisodes(every=20)
    t0 = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=sync)
    wall = time.perf_counter() - t0
    steps = model.num_timesteps
    print(
        f"RESULT tool=sb3-dqn episodes={sync.episodes} env_steps={steps} "
        f"wall_s={wall:.3f} steps_per_s={steps / wall:.1f}"
    )


if __name__ == "__main__":
    main()
