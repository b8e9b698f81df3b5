//! Global gradient norms and clipping as PyTorch's `clip_grad_norm_` computes them.
//!
//! burn's own `GradientClipping::Norm` clips each parameter tensor by its own norm; DPO
//! users set `max_norm` for the norm of the whole gradient, all parameters together.
//! Here a module's parameters may carry a leading axis of `groups` independent models
//! (the bandit kinds train a sweep as one batch): each group's norm is its own.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use crate::tensors::to_vec;

/// The L2 norm of each group's gradient over all of `module`'s parameters: one number per
/// group, each parameter's leading axis being the `groups` (1: the whole module). Each
/// parameter's sums of squares are computed on the next free of `workers` threads (a pass
/// over every gradient: a model's worth of memory traffic), then added in `f64` in the
/// parameters' order, so the norm is the same with any number of threads.
pub fn global_norms<M: Module>(
    module: &M,
    grads: &GradientsParams,
    groups: usize,
    workers: usize,
) -> Vec<f64> {
    let mut collect = Collect {
        grads,
        groups,
        rows: Vec::new(),
    };
    module.visit(&mut collect);
    let sums = crate::threads::map_on(&collect.rows, workers, |rows| {
        to_vec(rows.clone().square().sum_dim(1))
    });
    let mut total = vec![0.0; groups];
    for sum in sums {
        for (t, s) in total.iter_mut().zip(sum) {
            *t += s;
        }
    }
    total.into_iter().map(f64::sqrt).collect()
}

/// Every group's gradient multiplied by its factor (`factors[g]`); a factor of 1 leaves a
/// group as it is, and nothing is computed where every factor is 1.
pub fn scale<M: Module>(module: &M, grads: &mut GradientsParams, factors: &[f64]) {
    if factors.iter().all(|&f| f == 1.0) {
        return;
    }
    module.visit(&mut Scale { grads, factors });
}

/// Each parameter's gradient as `[groups, entries]` rows.
struct Collect<'a> {
    grads: &'a GradientsParams,
    groups: usize,
    rows: Vec<Tensor<2>>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let n = grad.shape().num_elements();
            self.rows.push(grad.reshape([self.groups, n / self.groups]));
        }
    }
}

/// Multiplies each group's gradient by its factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factors: &'a [f64],
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let groups = self.factors.len();
        let shape = grad.shape();
        let scaled = if groups == 1 {
            grad.mul_scalar(self.factors[0])
        } else {
            let n = shape.num_elements();
            let device = grad.device();
            let column = TensorData::new(self.factors.to_vec(), [groups, 1]);
            let column = Tensor::<2>::from_data(column, &device);
            (grad.reshape([groups, n / groups]) * column).reshape(shape)
        };
        self.grads.register(param.id, scaled);
    }
}
