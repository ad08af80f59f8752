//! An agent's state for checkpoints: both networks' tensors, the optimizer's moments, the
//! replay (its transitions, sum tree and n-step window; the frames are written apart, as a log,
//! by the caller: [`DqnAgent::frames`]) and the noisy layers' random stream. Everything else
//! an agent holds is config. Serialised with postcard.

use crate::networks::QNetOn;
use crate::replay::{FrameReplay, FrameStore};
use crate::{AgentError, DqnAgent};
use dqn_envs::ObsElem;
use dqn_nn::device::AgentDevice;
use dqn_nn::optim::{OptimizerState, StepOptimizer};
use dqn_nn::snapshot::{load_tensors, tensors};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct SavedRef<'a, E> {
    online: Vec<Vec<f32>>,
    target: Vec<Vec<f32>>,
    optimizer: OptimizerState,
    replay: &'a FrameReplay<E>,
    noise_rng: &'a ChaCha8Rng,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "E: ObsElem"))]
struct Saved<E> {
    online: Vec<Vec<f32>>,
    target: Vec<Vec<f32>>,
    optimizer: OptimizerState,
    replay: FrameReplay<E>,
    noise_rng: ChaCha8Rng,
}

fn checkpoint_err(what: &str) -> impl Fn(String) -> AgentError + '_ {
    move |e| AgentError::Checkpoint(format!("{what}: {e}"))
}

impl<N, E, const IN: usize, const OUT: usize, D> DqnAgent<N, E, IN, OUT, D>
where
    N: QNetOn<D, E, IN, OUT>,
    E: ObsElem,
    D: AgentDevice,
{
    /// The agent's state without the replay's frames (see [`DqnAgent::frames`]).
    pub fn save_state(&self) -> Result<Vec<u8>, AgentError> {
        let saved = SavedRef {
            online: tensors(&self.qnet).map_err(checkpoint_err("online network"))?,
            target: tensors(&self.qnet_target).map_err(checkpoint_err("target network"))?,
            optimizer: self.optimizer.save()?,
            replay: &self.replay,
            noise_rng: &self.noise_rng,
        };
        postcard::to_allocvec(&saved).map_err(|e| checkpoint_err("encoding")(e.to_string()))
    }

    /// Put back a state from [`DqnAgent::save_state`] of an agent built from the same config;
    /// the replay's frames are then put back with [`DqnAgent::frames_mut`].
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let s: Saved<E> =
            postcard::from_bytes(bytes).map_err(|e| checkpoint_err("decoding")(e.to_string()))?;
        load_tensors(&mut self.qnet, &s.online).map_err(checkpoint_err("online network"))?;
        load_tensors(&mut self.qnet_target, &s.target).map_err(checkpoint_err("target network"))?;
        self.optimizer.load(s.optimizer)?;
        self.replay = s.replay;
        self.noise_rng = s.noise_rng;
        Ok(())
    }

    /// The replay's frames (a checkpoint logs those pushed since the last one).
    pub fn frames(&self) -> &FrameStore<E> {
        self.replay.frames()
    }

    /// The replay's frames, to refill after [`DqnAgent::load_state`].
    pub fn frames_mut(&mut self) -> &mut FrameStore<E> {
        self.replay.frames_mut()
    }
}
