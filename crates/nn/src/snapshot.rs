//! A network's tensors as plain host vectors, for checkpoints: every tensor — parameters and a
//! noisy layer's current noise alike — in dfdx's visiting order, read out and written back
//! bit for bit on any device.

use dfdx::nn::tensor_collection::ViewTensorRef;
use dfdx::nn::{RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut};
use dfdx::prelude::*;

/// Every tensor of `net`, in visiting order.
pub fn tensors<M: TensorCollection<f32, D>, D: Device<f32>>(
    net: &M,
) -> Result<Vec<Vec<f32>>, String> {
    let mut out = Read(Vec::new());
    M::iter_tensors(&mut RecursiveWalker {
        m: net,
        f: &mut out,
    })
    .map_err(|e| format!("reading the network: {e:?}"))?;
    Ok(out.0)
}

/// Write `values` (as [`tensors`] read them from a network of the same kind) into `net`.
/// Fails, leaving `net` partly written, when the count or a length differs.
pub fn load_tensors<M: TensorCollection<f32, D>, D: Device<f32>>(
    net: &mut M,
    values: &[Vec<f32>],
) -> Result<(), String> {
    let mut w = Write {
        values,
        next: 0,
        error: None,
    };
    M::iter_tensors(&mut RecursiveWalker { m: net, f: &mut w })
        .map_err(|e| format!("writing the network: {e:?}"))?;
    if let Some(e) = w.error {
        return Err(e);
    }
    if w.next != values.len() {
        return Err(format!(
            "the network has {} tensors, the checkpoint {}",
            w.next,
            values.len()
        ));
    }
    Ok(())
}

struct Read(Vec<Vec<f32>>);

impl<D: Device<f32>> TensorVisitor<f32, D> for Read {
    type Viewer = ViewTensorRef;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;
    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, D>,
        p: &Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        self.0.push(p.as_vec());
        Ok(None)
    }
}

struct Write<'a> {
    values: &'a [Vec<f32>],
    next: usize,
    error: Option<String>,
}

impl<D: Device<f32>> TensorVisitor<f32, D> for Write<'_> {
    type Viewer = ViewTensorMut;
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;
    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, D>,
        p: &mut Tensor<S, f32, D>,
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        let i = self.next;
        self.next += 1;
        match self.values.get(i) {
            Some(v) if v.len() == p.shape().num_elements() => p.copy_from(v),
            Some(v) if self.error.is_none() => {
                self.error = Some(format!(
                    "tensor {i} has {} values, the checkpoint {}",
                    p.shape().num_elements(),
                    v.len()
                ))
            }
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenseLinear, DenseRelu};

    #[test]
    fn tensors_round_trip_into_a_fresh_network_and_mismatches_are_refused() {
        type Net = (DenseRelu<3, 5>, DenseLinear<5, 2>);
        let dev = Cpu::seed_from_u64(1);
        let a = dev.build_module::<Net, f32>();
        let mut b = Cpu::seed_from_u64(2).build_module::<Net, f32>();
        let saved = tensors(&a).unwrap();
        assert_ne!(saved, tensors(&b).unwrap());
        load_tensors(&mut b, &saved).unwrap();
        assert_eq!(tensors(&b).unwrap(), saved);
        let mut short = saved.clone();
        short.pop();
        assert!(load_tensors(&mut b, &short)
            .unwrap_err()
            .contains("tensors"));
        let mut wrong = saved;
        wrong[0].push(0.0);
        assert!(load_tensors(&mut b, &wrong).unwrap_err().contains("values"));
    }
}
