//! Checkpoints inside a run and resuming from them, bit for bit: [`Saver`] decides when to
//! write one (every `checkpoint_interval` steps, every `checkpoint_minutes`, or when asked to
//! stop) and puts a run back from its checkpoint (see [`crate::checkpoint`] for the files).
//!
//! A checkpoint is taken between two env steps. Envs that cannot be saved mid-episode (ALE)
//! are checkpointed at the next episode boundary where they can.

use super::episode_loop::{InEpisode, Loop, LoopRngs};
use super::measure::PeriodicState;
use super::{RunControl, TrainError};
use crate::agent::networks::QNetOn;
use crate::checkpoint::{self, FramesLog, Progress, Saved};
use crate::config::RunConfig;
use crate::env::{EnvStateError, ObsElem};
use crate::nn::device::AgentDevice;
use crate::store::{EpisodeRecord, EvalPoint};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The loop's part of a checkpoint (written by reference, read back owned).
#[derive(Serialize)]
struct LoopStateRef<'a, E> {
    episode: u32,
    total_steps: u64,
    wall_s: f64,
    episodes: &'a [EpisodeRecord],
    evaluations: &'a [EvalPoint],
    rngs: &'a LoopRngs,
    env: Vec<u8>,
    periodic: PeriodicState,
    current: &'a Option<InEpisode<E>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "E: ObsElem"))]
struct LoopState<E> {
    episode: u32,
    total_steps: u64,
    wall_s: f64,
    episodes: Vec<EpisodeRecord>,
    evaluations: Vec<EvalPoint>,
    rngs: LoopRngs,
    env: Vec<u8>,
    periodic: PeriodicState,
    current: Option<InEpisode<E>>,
}

/// Writes a run's checkpoints and resumes it from them.
pub(super) struct Saver<'a> {
    dir: PathBuf,
    log: FramesLog,
    build: String,
    run_id: String,
    every_steps: u64,
    every: Option<Duration>,
    last_steps: u64,
    last_time: Instant,
    stop: Option<&'a AtomicBool>,
    say: &'a (dyn Fn(&str) + Sync),
    /// When `progress.json` was last written (it is kept fresh between checkpoints).
    last_progress: Instant,
    /// The run's checkpoint folder existed when it started (whether or not it was usable).
    pub(super) found: bool,
}

/// Seconds between `progress.json` updates of a running run (`sweep plan` reads them).
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

impl<'a> Saver<'a> {
    /// The run's saver, when `ctl` gives it a folder.
    pub(super) fn open(ctl: &RunControl<'a>, cfg: &RunConfig) -> Option<Self> {
        let dir = checkpoint::dir_of(ctl.run_dir?);
        let minutes = cfg.train.checkpoint_minutes.0;
        Some(Saver {
            log: FramesLog::new(&dir),
            dir,
            build: crate::fingerprint::Build::current().id(),
            run_id: crate::fingerprint::run_id(cfg),
            every_steps: cfg.train.checkpoint_interval.0,
            every: (minutes > 0.0).then(|| Duration::from_secs_f64(minutes * 60.0)),
            last_steps: 0,
            last_time: Instant::now(),
            stop: ctl.stop,
            say: ctl.say,
            last_progress: Instant::now(),
            found: false,
        })
    }

    /// Put `run` (just built) back where its checkpoint left it, if it has a usable one;
    /// `false` when one was refused part-way (the caller builds the run afresh).
    pub(super) fn resume<N, E, const IN: usize, const OUT: usize, D>(
        &mut self,
        run: &mut Loop<'_, N, E, IN, OUT, D>,
    ) -> bool
    where
        N: QNetOn<D, E, IN, OUT>,
        E: ObsElem,
        D: AgentDevice,
    {
        self.found = self.dir.exists();
        let outcome = checkpoint::read_state(&self.dir, &self.build, &self.run_id)
            .map_err(|e| e.to_string())
            .and_then(|saved| match saved {
                Some(s) => self.restore(run, s).map(|()| true),
                None => Ok(false),
            });
        match outcome {
            Ok(resumed) => {
                if resumed {
                    self.last_steps = run.total_steps;
                    (self.say)(&format!(
                        "resumed {} from its checkpoint at step {}",
                        self.dir.parent().unwrap_or(&self.dir).display(),
                        run.total_steps
                    ));
                }
                true
            }
            Err(why) => {
                (self.say)(&format!(
                    "note: checkpoint in {} refused ({why}): the run starts again from step 0",
                    self.dir.display()
                ));
                if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                    (self.say)(&format!("note: cannot remove {}: {e}", self.dir.display()));
                }
                self.log = FramesLog::new(&self.dir);
                false
            }
        }
    }

    fn restore<N, E, const IN: usize, const OUT: usize, D>(
        &mut self,
        run: &mut Loop<'_, N, E, IN, OUT, D>,
        saved: Saved,
    ) -> Result<(), String>
    where
        N: QNetOn<D, E, IN, OUT>,
        E: ObsElem,
        D: AgentDevice,
    {
        let s: LoopState<E> =
            postcard::from_bytes(&saved.run).map_err(|e| format!("loop state: {e}"))?;
        run.env.load_state(&s.env).map_err(|e| e.to_string())?;
        run.periodic
            .restore(s.periodic)
            .map_err(|e| e.to_string())?;
        run.agent
            .load_state(&saved.agent)
            .map_err(|e| e.to_string())?;
        self.log = FramesLog::restore(&self.dir, saved.frames, run.agent.frames_mut())
            .map_err(|e| e.to_string())?;
        self.log.remove_others().map_err(|e| e.to_string())?;
        (run.episode, run.total_steps) = (s.episode, s.total_steps);
        (run.episodes, run.evaluations) = (s.episodes, s.evaluations);
        (run.rngs, run.current) = (s.rngs, s.current);
        let before = Duration::from_secs_f64(s.wall_s);
        run.start = Instant::now()
            .checked_sub(before)
            .unwrap_or_else(Instant::now);
        Ok(())
    }

    /// After each step: checkpoint when due or asked to stop; when asked to stop, end the run
    /// with [`TrainError::Interrupted`].
    pub(super) fn after_step<N, E, const IN: usize, const OUT: usize, D>(
        &mut self,
        run: &Loop<'_, N, E, IN, OUT, D>,
    ) -> Result<(), TrainError>
    where
        N: QNetOn<D, E, IN, OUT>,
        E: ObsElem,
        D: AgentDevice,
    {
        let stop = self.stop.is_some_and(|s| s.load(Ordering::Relaxed));
        let now = Instant::now();
        let due = stop
            || (self.every_steps > 0 && run.total_steps - self.last_steps >= self.every_steps)
            || self
                .every
                .is_some_and(|d| now.duration_since(self.last_time) >= d);
        if !due && now.duration_since(self.last_progress) >= PROGRESS_EVERY {
            self.last_progress = now;
            if let Err(e) = std::fs::create_dir_all(&self.dir)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    checkpoint::write_progress(&self.dir, &progress(run)).map_err(|e| e.to_string())
                })
            {
                (self.say)(&format!("note: {e}"));
            }
        }
        if !due || (run.current.is_some() && !run.env.saves_mid_episode()) {
            return Ok(());
        }
        let checkpointed = match self.save(run) {
            Ok(true) => true,
            // The env cannot be saved here (an Atari life lost mid-game): at the next boundary.
            Ok(false) => return Ok(()),
            Err(e) => {
                (self.say)(&format!(
                    "note: no checkpoint at step {} in {}: {e}",
                    run.total_steps,
                    self.dir.display()
                ));
                false
            }
        };
        (self.last_steps, self.last_time) = (run.total_steps, Instant::now());
        if stop {
            return Err(TrainError::Interrupted {
                steps: run.total_steps,
                checkpointed,
            });
        }
        Ok(())
    }

    /// Write the checkpoint: new frames first, then `state.bin` (the commit point), then the
    /// progress files. `Ok(false)`: the env cannot be saved at this moment.
    fn save<N, E, const IN: usize, const OUT: usize, D>(
        &mut self,
        run: &Loop<'_, N, E, IN, OUT, D>,
    ) -> Result<bool, String>
    where
        N: QNetOn<D, E, IN, OUT>,
        E: ObsElem,
        D: AgentDevice,
    {
        let wall_s = run.start.elapsed().as_secs_f64();
        let env = match run.env.save_state() {
            Ok(s) => s,
            Err(EnvStateError::Unsupported(_)) => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        let state = LoopStateRef {
            episode: run.episode,
            total_steps: run.total_steps,
            wall_s,
            episodes: &run.episodes,
            evaluations: &run.evaluations,
            rngs: &run.rngs,
            env,
            periodic: run.periodic.state().map_err(|e| e.to_string())?,
            current: &run.current,
        };
        let loop_bytes = postcard::to_allocvec(&state).map_err(|e| e.to_string())?;
        let agent = run.agent.save_state().map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let frames = self
            .log
            .append(run.agent.frames())
            .map_err(|e| e.to_string())?;
        let saved = Saved {
            build: self.build.clone(),
            run_id: self.run_id.clone(),
            steps: run.total_steps,
            frames,
            run: loop_bytes,
            agent,
        };
        checkpoint::write_state(&self.dir, &saved).map_err(|e| e.to_string())?;
        self.log.remove_others().map_err(|e| e.to_string())?;
        checkpoint::write_progress(&self.dir, &progress(run)).map_err(|e| e.to_string())?;
        self.last_progress = Instant::now();
        let mut df = crate::store::episodes_frame(&run.episodes).map_err(|e| e.to_string())?;
        crate::store::write_csv(&self.dir.join(checkpoint::EPISODES), &mut df)
            .map_err(|e| e.to_string())?;
        Ok(true)
    }
}

/// How far `run` got.
fn progress<N, E, const IN: usize, const OUT: usize, D>(
    run: &Loop<'_, N, E, IN, OUT, D>,
) -> Progress
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    let t = &run.cfg.train;
    Progress {
        steps: run.total_steps,
        budget: t.steps,
        episodes: run.episode,
        max_episodes: t.episodes,
        wall_s: run.start.elapsed().as_secs_f64(),
    }
}
