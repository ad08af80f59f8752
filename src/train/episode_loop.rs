//! The training loop for one network kind: the chapter's reset, act ε-greedily, step, store,
//! update, sync the target network on schedule, with the long-run options of the DQN and
//! MinAtar papers (step budget, ε schedule, replay warm-up, update period, periodic
//! evaluation) and the per-episode measurements.

use super::measure::{eval_episode, mean_max_q, q_accuracy, PeriodicEval, QAccuracy};
use super::seeds::{probe_seed, stream, RunSeeds, Stream};
use super::{learned_reward, make_env, whole_games, RunOutcome, TrainError};
use crate::agent::networks::QNetOn;
use crate::agent::{AgentError, DqnAgent, QPolicy};
use crate::config::{RunConfig, SyncUnit, WarmupActions};
use crate::env::{Env, EnvSpec, ObsElem};
use crate::nn::device::AgentDevice;
use crate::store::{EpisodeRecord, EvalPoint};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// The training loop for network kind `N` (with `OUT` outputs) over observations of `E` on
/// device `D`: the run's state between episodes.
pub(super) struct Loop<'c, N, E, const IN: usize, const OUT: usize, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    cfg: &'c RunConfig,
    seed: [u8; 32],
    start: Instant,
    env: Box<dyn Env<Elem = E>>,
    agent: DqnAgent<N, E, IN, OUT, D>,
    reset_rng: ChaCha8Rng,
    policy_rng: ChaCha8Rng,
    replay_rng: ChaCha8Rng,
    q_rollout_rng: ChaCha8Rng,
    probes: Vec<E>,
    periodic: PeriodicEval<E>,
    evaluations: Vec<EvalPoint>,
    total_steps: u64,
}

/// Counters of the episode in progress.
#[derive(Default)]
struct EpisodeTally {
    ret: f64,
    length: u32,
    loss_sum: f64,
    updates: u32,
    /// The step budget ran out before the episode ended.
    cut: bool,
}

impl<'c, N, E, const IN: usize, const OUT: usize, D> Loop<'c, N, E, IN, OUT, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    /// The env's actions (`OUT` network outputs are actions × atoms).
    const ACTIONS: usize = <DqnAgent<N, E, IN, OUT, D> as QPolicy<E>>::ACTIONS;

    pub(super) fn run(
        cfg: &RunConfig,
        on_progress: &(dyn Fn(f64) + Sync),
    ) -> Result<RunOutcome, TrainError> {
        let mut run = Loop::<N, E, IN, OUT, D>::new(cfg)?;
        let t = &cfg.train;
        let max_episodes = t.episodes.unwrap_or(u32::MAX);
        let budget = t.steps.unwrap_or(u64::MAX);
        let mut episodes = Vec::new();
        let mut episode = 0u32;
        while episode < max_episodes && run.total_steps < budget {
            let mean_max_q = mean_max_q(&run.agent, &run.probes);
            let tally = run.episode(episode, max_episodes)?;
            if tally.cut {
                break; // the budget cut this episode: not recorded
            }
            episodes.push(run.record(episode, &tally, mean_max_q));
            episode += 1;
            on_progress(match t.steps {
                Some(b) => run.total_steps as f64 / b as f64,
                None => f64::from(episode) / f64::from(max_episodes),
            });
        }
        Ok(run.finish(episodes))
    }

    fn new(cfg: &'c RunConfig) -> Result<Self, TrainError> {
        let RunSeeds {
            streams: seed,
            weights,
        } = RunSeeds::of(cfg);
        let spec = cfg.env.spec();
        let env: Box<dyn Env<Elem = E>> = make_env(&spec, seed, Stream::TrainEnvSeed);
        assert_eq!(
            env.num_actions(),
            Self::ACTIONS,
            "the dispatch matches the env's actions"
        );
        let frame_len = env.obs_shape().len() / cfg.env.frame_stack;
        let init_seed = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes"));
        let dev = D::seeded(init_seed).map_err(|e| TrainError::Setup(AgentError::Device(e)))?;
        Ok(Loop {
            agent: DqnAgent::new(
                dev,
                &cfg.agent,
                &mut stream(weights, Stream::WeightInit),
                frame_len,
                cfg.env.frame_stack,
            )
            .map_err(TrainError::Setup)?,
            env,
            reset_rng: stream(seed, Stream::EnvReset),
            policy_rng: stream(seed, Stream::Policy),
            replay_rng: stream(seed, Stream::Replay),
            q_rollout_rng: stream(seed, Stream::QRollout),
            probes: Self::probe_states(cfg, &spec),
            periodic: PeriodicEval::new(cfg, &spec, seed),
            evaluations: Vec::new(),
            total_steps: 0,
            start: Instant::now(),
            cfg,
            seed,
        })
    }

    /// One training episode: act, step, store, update every `update_period` steps after
    /// `learning_starts`, sync on schedule, evaluate when due.
    fn episode(&mut self, episode: u32, max_episodes: u32) -> Result<EpisodeTally, TrainError> {
        let (a, t) = (&self.cfg.agent, &self.cfg.train);
        let mut obs = vec![E::default(); self.env.obs_shape().len()];
        let mut next = obs.clone();
        self.env.reset_into(&mut self.reset_rng, &mut obs);
        self.agent.begin_episode(&obs);
        // β anneals from per_beta_start at the first episode (or step) to per_beta_end at the
        // last.
        let progress_at = |steps: u64| match t.steps {
            Some(b) => steps as f64 / b as f64,
            None => f64::from(episode) / f64::from(max_episodes.saturating_sub(1).max(1)),
        };
        let mut tally = EpisodeTally::default();
        loop {
            let action = if self.total_steps < a.learning_starts
                && a.warmup_actions == WarmupActions::Uniform
            {
                self.policy_rng.gen_range(0..Self::ACTIONS)
            } else {
                let eps = a.epsilon_at(self.total_steps);
                self.agent
                    .act_exploring(&obs, eps, &mut self.policy_rng)
                    .map_err(|source| TrainError::Agent {
                        episode,
                        step: self.total_steps,
                        source,
                    })?
            };
            let step = self.env.step_into(action, &mut next);
            let (term, trunc) = (step.terminated, step.truncated);
            self.agent
                .remember(action, learned_reward(a, step.reward), &next, term, trunc);
            self.total_steps += 1;
            let steps = self.total_steps;
            if steps >= a.learning_starts && steps.is_multiple_of(a.update_period) {
                match self.agent.update(progress_at(steps), &mut self.replay_rng) {
                    Ok(Some(l)) => {
                        tally.loss_sum += f64::from(l);
                        tally.updates += 1;
                    }
                    Ok(None) => {}
                    Err(source) => {
                        return Err(TrainError::Agent {
                            episode,
                            step: steps,
                            source,
                        })
                    }
                }
            }
            if self
                .agent
                .sync_due(SyncUnit::Steps, u64::from(episode), steps)
            {
                self.agent.sync_target();
            }
            if let Some(point) = self.periodic.due(&self.agent, steps) {
                self.evaluations.push(point);
            }
            tally.ret += step.reward;
            tally.length += 1;
            std::mem::swap(&mut obs, &mut next);
            if step.done() {
                break;
            }
            if t.steps.is_some_and(|b| steps >= b) {
                tally.cut = true;
                return Ok(tally);
            }
        }
        if self
            .agent
            .sync_due(SyncUnit::Episodes, u64::from(episode), self.total_steps)
        {
            self.agent.sync_target();
        }
        Ok(tally)
    }

    /// The record of a finished episode (and its Q probe, when due).
    fn record(&mut self, episode: u32, tally: &EpisodeTally, mean_max_q: f64) -> EpisodeRecord {
        let interval = self.cfg.train.q_probe_interval;
        let q = if interval > 0 && (episode + 1).is_multiple_of(interval) {
            q_accuracy(&self.agent, self.cfg, self.seed, &mut self.q_rollout_rng)
        } else {
            QAccuracy::NAN
        };
        EpisodeRecord {
            episode,
            ret: tally.ret,
            length: tally.length,
            steps: self.total_steps,
            loss: if tally.updates > 0 {
                tally.loss_sum / f64::from(tally.updates)
            } else {
                f64::NAN
            },
            epsilon: self.cfg.agent.epsilon_at(self.total_steps),
            mean_max_q,
            q_pred: q.predicted,
            q_mc: q.actual,
            q_abs_err: q.abs_err,
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }

    /// The evaluation episodes after training, and the outcome.
    fn finish(self, episodes: Vec<EpisodeRecord>) -> RunOutcome {
        let t = &self.cfg.train;
        let mut eval_env =
            make_env::<E>(&whole_games(&self.cfg.env), self.seed, Stream::EvalEnvSeed);
        let mut eval_rng = stream(self.seed, Stream::EvalReset);
        let eval_returns = (0..t.eval_episodes)
            .map(|_| eval_episode(&self.agent, &mut *eval_env, t.eval_epsilon, &mut eval_rng))
            .collect();
        RunOutcome {
            episodes,
            eval_returns,
            evaluations: self.evaluations,
            env_steps: self.total_steps,
            replay_bytes_per_transition: self.agent.replay_bytes_per_transition(),
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }

    /// Observations visited by a uniformly random policy before training: the held-out set on
    /// which the DQN paper tracks the average predicted max-Q; laid end to end.
    fn probe_states(cfg: &RunConfig, spec: &EnvSpec) -> Vec<E> {
        let pseed = probe_seed(cfg);
        let mut rng = stream(pseed, Stream::Probe);
        let mut env = make_env::<E>(spec, pseed, Stream::ProbeEnvSeed);
        let n = env.obs_shape().len();
        let mut states: Vec<E> = Vec::with_capacity(cfg.train.probe_states * n);
        let mut obs = vec![E::default(); n];
        while states.len() < cfg.train.probe_states * n {
            env.reset_into(&mut rng, &mut obs);
            loop {
                states.extend_from_slice(&obs);
                let step = env.step_into(rng.gen_range(0..Self::ACTIONS), &mut obs);
                if step.done() || states.len() >= cfg.train.probe_states * n {
                    break;
                }
            }
        }
        states
    }
}
