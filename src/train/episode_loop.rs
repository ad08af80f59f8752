//! The training loop for one network kind: the chapter's reset, act ε-greedily, step, store,
//! update, sync the target network on schedule, with the long-run options of the DQN and
//! MinAtar papers (step budget, ε schedule, replay warm-up, update period, periodic
//! evaluation) and the per-episode measurements.

use super::measure::{eval_episode, mean_max_q, q_accuracy, PeriodicEval, QAccuracy};
use super::resume::Saver;
use super::seeds::{probe_seed, stream, RunSeeds, Stream};
use super::{learned_reward, make_env, whole_games, RunControl, RunOutcome, TrainError};
use crate::agent::networks::QNetOn;
use crate::agent::{AgentError, DqnAgent, QPolicy};
use crate::config::{RunConfig, SyncUnit, WarmupActions};
use crate::env::{Env, EnvSpec, ObsElem};
use crate::nn::device::AgentDevice;
use crate::store::{EpisodeRecord, EvalPoint};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The training loop for network kind `N` (with `OUT` outputs) over observations of `E` on
/// device `D`: the run's whole state between two steps (what a checkpoint saves).
pub(super) struct Loop<'c, N, E, const IN: usize, const OUT: usize, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    pub(super) cfg: &'c RunConfig,
    seed: [u8; 32],
    /// When this process started on the run, less the wall time of earlier processes.
    pub(super) start: Instant,
    pub(super) env: Box<dyn Env<Elem = E>>,
    pub(super) agent: DqnAgent<N, E, IN, OUT, D>,
    pub(super) rngs: LoopRngs,
    probes: Vec<E>,
    pub(super) periodic: PeriodicEval<E>,
    pub(super) evaluations: Vec<EvalPoint>,
    pub(super) episodes: Vec<EpisodeRecord>,
    /// Index of the episode in progress (or next to start).
    pub(super) episode: u32,
    pub(super) total_steps: u64,
    /// The episode in progress, if one is.
    pub(super) current: Option<InEpisode<E>>,
    /// Where each step writes its next observation (swapped with the episode's; not state).
    next: Vec<E>,
}

/// The loop's random streams (see [`Stream`]).
#[derive(Serialize, Deserialize)]
pub(super) struct LoopRngs {
    reset: ChaCha8Rng,
    policy: ChaCha8Rng,
    replay: ChaCha8Rng,
    q_rollout: ChaCha8Rng,
}

/// An episode in progress: the last observation, its counters and the mean max-Q measured at
/// its start.
#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "E: ObsElem"))]
pub(super) struct InEpisode<E> {
    obs: Vec<E>,
    tally: EpisodeTally,
    mean_max_q: f64,
}

/// Counters of the episode in progress.
#[derive(Default, Serialize, Deserialize)]
struct EpisodeTally {
    ret: f64,
    length: u32,
    loss_sum: f64,
    updates: u32,
}

/// What one step ended.
enum StepEnd {
    /// The episode goes on.
    Continue,
    /// The episode ended and was recorded.
    Episode,
    /// The step budget ran out inside the episode (which is not recorded).
    Budget,
}

impl<'c, N, E, const IN: usize, const OUT: usize, D> Loop<'c, N, E, IN, OUT, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    /// The env's actions (`OUT` network outputs are actions × atoms).
    const ACTIONS: usize = <DqnAgent<N, E, IN, OUT, D> as QPolicy<E>>::ACTIONS;

    /// Train the run to its end, resuming from its checkpoint if it has one, checkpointing when
    /// due, and stopping (checkpointed) when `ctl` asks.
    pub(super) fn run(cfg: &RunConfig, ctl: &RunControl) -> Result<RunOutcome, TrainError> {
        let mut run = Loop::<N, E, IN, OUT, D>::new(cfg)?;
        let mut saver = Saver::open(ctl, cfg);
        if let Some(s) = &mut saver {
            if !s.resume(&mut run) {
                run = Loop::new(cfg)?; // a refused checkpoint may have left it half-restored
            }
        }
        // Resume tests cut only runs that start with no checkpoint folder (see `fault`).
        crate::fault::arm(saver.as_ref().is_none_or(|s| !s.found));
        let t = &cfg.train;
        let max_episodes = t.episodes.unwrap_or(u32::MAX);
        let budget = t.steps.unwrap_or(u64::MAX);
        while run.episode < max_episodes && run.total_steps < budget {
            if run.current.is_none() {
                run.begin_episode();
            }
            match run.step(max_episodes)? {
                StepEnd::Continue => {}
                StepEnd::Budget => break,
                StepEnd::Episode => (ctl.on_progress)(match t.steps {
                    Some(b) => run.total_steps as f64 / b as f64,
                    None => f64::from(run.episode) / f64::from(max_episodes),
                }),
            }
            crate::fault::after_step(run.total_steps);
            if let Some(s) = &mut saver {
                s.after_step(&run)?;
            }
        }
        Ok(run.finish())
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
            rngs: LoopRngs {
                reset: stream(seed, Stream::EnvReset),
                policy: stream(seed, Stream::Policy),
                replay: stream(seed, Stream::Replay),
                q_rollout: stream(seed, Stream::QRollout),
            },
            probes: Self::probe_states(cfg, &spec),
            periodic: PeriodicEval::new(cfg, &spec, seed),
            evaluations: Vec::new(),
            episodes: Vec::new(),
            episode: 0,
            total_steps: 0,
            current: None,
            next: Vec::new(),
            start: Instant::now(),
            cfg,
            seed,
        })
    }

    /// Measure the mean max-Q, reset the env and start the episode in replay.
    fn begin_episode(&mut self) {
        let mean_max_q = mean_max_q(&self.agent, &self.probes);
        let mut obs = vec![E::default(); self.env.obs_shape().len()];
        self.env.reset_into(&mut self.rngs.reset, &mut obs);
        self.agent.begin_episode(&obs);
        self.current = Some(InEpisode {
            obs,
            tally: EpisodeTally::default(),
            mean_max_q,
        });
    }

    /// One training step: act, step, store, update every `update_period` steps after
    /// `learning_starts`, sync on schedule, evaluate when due; at the episode's end, record it.
    fn step(&mut self, max_episodes: u32) -> Result<StepEnd, TrainError> {
        let (a, t) = (&self.cfg.agent, &self.cfg.train);
        let episode = self.episode;
        let err = |step, source| TrainError::Agent {
            episode,
            step,
            source,
        };
        let cur = self.current.as_mut().expect("an episode in progress");
        let action =
            if self.total_steps < a.learning_starts && a.warmup_actions == WarmupActions::Uniform {
                self.rngs.policy.gen_range(0..Self::ACTIONS)
            } else {
                let eps = a.epsilon_at(self.total_steps);
                self.agent
                    .act_exploring(&cur.obs, eps, &mut self.rngs.policy)
                    .map_err(|e| err(self.total_steps, e))?
            };
        let mut next = std::mem::take(&mut self.next);
        next.resize(cur.obs.len(), E::default());
        let step = self.env.step_into(action, &mut next);
        let (term, trunc) = (step.terminated, step.truncated);
        self.agent
            .remember(action, learned_reward(a, step.reward), &next, term, trunc);
        self.total_steps += 1;
        let steps = self.total_steps;
        if steps >= a.learning_starts && steps.is_multiple_of(a.update_period) {
            // β anneals from per_beta_start at the first episode (or step) to per_beta_end at
            // the last.
            let progress = match t.steps {
                Some(b) => steps as f64 / b as f64,
                None => f64::from(episode) / f64::from(max_episodes.saturating_sub(1).max(1)),
            };
            if let Some(l) = self
                .agent
                .update(progress, &mut self.rngs.replay)
                .map_err(|e| err(steps, e))?
            {
                cur.tally.loss_sum += f64::from(l);
                cur.tally.updates += 1;
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
        cur.tally.ret += step.reward;
        cur.tally.length += 1;
        std::mem::swap(&mut cur.obs, &mut next);
        self.next = next;
        if step.done() {
            if self
                .agent
                .sync_due(SyncUnit::Episodes, u64::from(episode), steps)
            {
                self.agent.sync_target();
            }
            let done = self.current.take().expect("in progress");
            let record = self.record(&done);
            self.episodes.push(record);
            self.episode += 1;
            return Ok(StepEnd::Episode);
        }
        if t.steps.is_some_and(|b| steps >= b) {
            self.current = None; // the budget cut this episode: not recorded
            return Ok(StepEnd::Budget);
        }
        Ok(StepEnd::Continue)
    }

    /// The record of a finished episode (and its Q probe, when due).
    fn record(&mut self, done: &InEpisode<E>) -> EpisodeRecord {
        let (episode, tally) = (self.episode, &done.tally);
        let interval = self.cfg.train.q_probe_interval;
        let q = if interval > 0 && (episode + 1).is_multiple_of(interval) {
            q_accuracy(&self.agent, self.cfg, self.seed, &mut self.rngs.q_rollout)
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
            mean_max_q: done.mean_max_q,
            q_pred: q.predicted,
            q_mc: q.actual,
            q_abs_err: q.abs_err,
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }

    /// The evaluation episodes after training, and the outcome.
    fn finish(self) -> RunOutcome {
        let t = &self.cfg.train;
        let mut eval_env =
            make_env::<E>(&whole_games(&self.cfg.env), self.seed, Stream::EvalEnvSeed);
        let mut eval_rng = stream(self.seed, Stream::EvalReset);
        let eval_returns = (0..t.eval_episodes)
            .map(|_| eval_episode(&self.agent, &mut *eval_env, t.eval_epsilon, &mut eval_rng))
            .collect();
        RunOutcome {
            episodes: self.episodes,
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
