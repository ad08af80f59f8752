//! The dfdx device an agent trains on: [`Cpu`] (always), or an NVIDIA GPU (`Cuda`, with the
//! `cuda` feature). What the agent needs of a device beyond dfdx's `Device<f32>`: building it
//! from the run's weight seed, and its optimizer.
//!
//! Initial weights are drawn on the host from the seeded device's CPU generator (dfdx's `Cuda`
//! keeps a seeded `Cpu` for that), so one config starts from the same weights on every device.

#[cfg(feature = "cuda")]
use crate::optim::DfdxOptimizer;
use crate::optim::{self, Rule, StepError, StepOptimizer};
use dfdx::nn::TensorCollection;
use dfdx::tensor::{Cpu, TensorToArray};
use dfdx::tensor_ops::Device;

/// A dfdx device the agent can train on.
pub trait AgentDevice: Device<f32> + TensorToArray<(), f32, Array = f32> + Sized {
    /// The device's name in configs and tables (`[train] device`).
    const NAME: &'static str;

    /// The optimizer of a module `M` on this device.
    type Optimizer<M: TensorCollection<f32, Self>>: StepOptimizer<M, Self>;

    /// The device, with its weight-initialisation generator seeded by `seed`.
    fn seeded(seed: u64) -> Result<Self, String>;

    /// The optimizer of `rule` for the parameters of `net` (fails where the device has no
    /// kernel for the rule).
    fn optimizer<M: TensorCollection<f32, Self>>(
        net: &M,
        rule: Rule,
    ) -> Result<Self::Optimizer<M>, StepError>;
}

/// The CPU runs [`optim::Optimizer`]: every optimizer form in vectorised loops (dfdx's bit for bit).
impl AgentDevice for Cpu {
    type Optimizer<M: TensorCollection<f32, Self>> = optim::Optimizer;
    const NAME: &'static str = "cpu";

    fn seeded(seed: u64) -> Result<Self, String> {
        Ok(Cpu::seed_from_u64(seed))
    }

    fn optimizer<M: TensorCollection<f32, Self>>(
        _: &M,
        rule: Rule,
    ) -> Result<optim::Optimizer, StepError> {
        Ok(optim::Optimizer::new(rule))
    }
}

/// The GPU runs dfdx's own optimizer kernels.
#[cfg(feature = "cuda")]
impl AgentDevice for dfdx::tensor::Cuda {
    type Optimizer<M: TensorCollection<f32, Self>> = DfdxOptimizer<M, Self>;
    const NAME: &'static str = "cuda";

    fn seeded(seed: u64) -> Result<Self, String> {
        dfdx::tensor::Cuda::try_seed_from_u64(seed).map_err(|e| format!("CUDA device 0: {e:?}"))
    }

    fn optimizer<M: TensorCollection<f32, Self>>(
        net: &M,
        rule: Rule,
    ) -> Result<Self::Optimizer<M>, StepError> {
        DfdxOptimizer::new(net, rule)
    }
}
