//! dfdx's own Adam and RMSprop behind [`StepOptimizer`], for devices our loops do not run on
//! (`Cuda`): the same arithmetic as [`super::Optimizer`]'s `"adam"` and `"rmsprop"` (tested bit
//! for bit on the CPU).

use super::{RmsForm, Rule, StepError, StepOptimizer};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

/// dfdx's own optimizers for a module `M` on device `D` (the same arithmetic as [`Optimizer`]:
/// the tests below check it bit for bit on the CPU).
pub enum DfdxOptimizer<M, D: Device<f32>> {
    Adam(dfdx::optim::Adam<M, f32, D>),
    RmsProp(dfdx::optim::RMSprop<M, f32, D>),
}

impl<M: TensorCollection<f32, D>, D: Device<f32>> DfdxOptimizer<M, D> {
    /// The optimizer of `rule` for the parameters of `net`; dfdx has its own Adam and RMSprop
    /// only (config validation keeps the other forms off these devices).
    pub fn new(net: &M, rule: Rule) -> Result<Self, StepError> {
        match rule {
            Rule::Adam(cfg) => Ok(DfdxOptimizer::Adam(dfdx::optim::Adam::new(net, cfg))),
            Rule::RmsProp(RmsForm::Dfdx, cfg) => {
                Ok(DfdxOptimizer::RmsProp(dfdx::optim::RMSprop::new(net, cfg)))
            }
            Rule::RmsProp(form, _) => Err(StepError(format!(
                "RMSprop as {} runs it has no dfdx kernel (only \"rmsprop\", dfdx's own)",
                form.source()
            ))),
            Rule::AdamTorch(_) | Rule::AdamDezero(_) => Err(StepError(
                "this Adam has no dfdx kernel (only \"adam\", dfdx's own)".into(),
            )),
        }
    }
}

impl<M: TensorCollection<f32, D>, D: Device<f32>> StepOptimizer<M, D> for DfdxOptimizer<M, D> {
    fn step(&mut self, net: &mut M, grads: &mut Gradients<f32, D>) -> Result<(), StepError> {
        use dfdx::optim::Optimizer as _;
        match self {
            DfdxOptimizer::Adam(o) => o.update(net, grads),
            DfdxOptimizer::RmsProp(o) => o.update(net, grads),
        }
        .map_err(|e| StepError(format!("{e:?}")))?;
        net.try_zero_grads(grads)
            .map_err(|e| StepError(format!("{e:?}")))
    }
}
