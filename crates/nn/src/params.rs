//! A CPU network's parameters (or their gradients) read out as plain vectors, in dfdx's
//! visiting order: for comparing two networks bit for bit.

use dfdx::nn::tensor_collection::ViewTensorRef;
use dfdx::nn::{RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor};
use dfdx::prelude::*;

/// Every parameter's values, or (with gradients) its gradient's, in visiting order.
struct Params<'a>(Option<&'a Gradients<f32, Cpu>>, Vec<Vec<f32>>);

impl TensorVisitor<f32, Cpu> for Params<'_> {
    type Viewer = ViewTensorRef;
    type Err = <Cpu as HasErr>::Err;
    type E2 = f32;
    type D2 = Cpu;
    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
        if !opts.do_gradient_update {
            return Ok(None); // not a parameter (a noisy layer's noise)
        }
        self.1.push(match self.0 {
            Some(grads) => grads.get(p).as_vec(),
            None => p.as_vec(),
        });
        Ok(None)
    }
}

fn visit_params<M: TensorCollection<f32, Cpu>>(
    net: &M,
    grads: Option<&Gradients<f32, Cpu>>,
) -> Result<Vec<Vec<f32>>, <Cpu as HasErr>::Err> {
    let mut out = Params(grads, Vec::new());
    M::iter_tensors(&mut RecursiveWalker {
        m: net,
        f: &mut out,
    })?;
    Ok(out.1)
}

/// Every parameter's values of `net`, in visiting order.
pub fn values<M: TensorCollection<f32, Cpu>>(net: &M) -> Vec<Vec<f32>> {
    visit_params(net, None).expect("reading CPU tensors cannot fail")
}

/// The gradient of every parameter of `net` in `grads`, in visiting order.
pub fn gradients<M: TensorCollection<f32, Cpu>>(
    net: &M,
    grads: &Gradients<f32, Cpu>,
) -> Vec<Vec<f32>> {
    visit_params(net, Some(grads)).expect("reading CPU tensors cannot fail")
}
