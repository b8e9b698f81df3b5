//! Adam with its per-parameter updates spread over threads.
//!
//! burn's [`ModuleOptimizer`](burn::optim::ModuleOptimizer) updates a module's parameters
//! one after another on the calling thread. Adam's update is a dozen element-wise passes
//! over each parameter, its moments and its gradient, so on a CPU backend it is bound by one
//! core's memory bandwidth: a fixed cost per step that small batches (SFT's) feel most.
//! [`ParallelAdam`] applies burn's own [`Adam`] to every parameter exactly as
//! `ModuleOptimizer` does, each parameter's update on the next free thread, so the result is
//! the same to the bit with any number of threads.

use std::collections::HashMap;
use std::sync::Mutex;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{Adam, AdamState, AdaptiveMomentumState, GradientsParams, Optimizer};
use burn::tensor::Tensor;

use super::AdamSpec;

/// Adam (burn's, with `spec`'s settings) whose step updates the parameters on up to
/// `workers` threads.
pub struct ParallelAdam {
    adam: Adam,
    workers: usize,
    /// Each parameter's moments, flattened (Adam's update is element-wise).
    states: HashMap<ParamId, AdamState<1>>,
}

/// One parameter's update: its value and gradient, flattened, and its moments so far.
struct Update {
    id: ParamId,
    value: Tensor<1>,
    grad: Tensor<1>,
    state: Option<AdamState<1>>,
}

impl ParallelAdam {
    /// A fresh optimiser (no moments yet) with [`AdamSpec::burn`]'s settings, as
    /// [`super::OptimizerSpec::build`]'s Adam has.
    pub fn new(spec: AdamSpec, workers: usize) -> Self {
        Self {
            adam: spec.burn().build(),
            workers: workers.max(1),
            states: HashMap::new(),
        }
    }

    /// `module` after one Adam step with learning rate `lr` along `grads`; parameters
    /// without a gradient stay as they are.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        let mut collect = Collect {
            grads: &mut grads,
            states: &mut self.states,
            updates: Vec::new(),
        };
        module.visit(&mut collect);
        let updates: Vec<Mutex<Option<Update>>> = collect
            .updates
            .into_iter()
            .map(|u| Mutex::new(Some(u)))
            .collect();
        let adam = &self.adam;
        let stepped = crate::threads::map_on(&updates, self.workers, |slot| {
            let update = slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()
                .expect("each update is taken once");
            let (value, state) = adam.step(lr, update.value, update.grad, update.state);
            (update.id, value, state)
        });
        let mut values = HashMap::with_capacity(stepped.len());
        for (id, value, state) in stepped {
            if let Some(state) = state {
                self.states.insert(id, state);
            }
            values.insert(id, value);
        }
        module.map(&mut Replace { values })
    }
}

/// One parameter's Adam moments, flattened: what [`ParallelAdam::moments`] gives and
/// [`ParallelAdam::restore`] takes back (a saved training state).
pub struct Moments {
    /// The parameter.
    pub id: ParamId,
    /// Steps taken (Adam's bias correction).
    pub time: usize,
    /// The first moment.
    pub first: Tensor<1>,
    /// The second moment.
    pub second: Tensor<1>,
}

impl ParallelAdam {
    /// Every parameter's moments so far, by parameter id (none before the first step).
    pub fn moments(&self) -> Vec<Moments> {
        let mut all: Vec<Moments> = self
            .states
            .iter()
            .map(|(id, state)| Moments {
                id: *id,
                time: state.momentum.time,
                first: state.momentum.moment_1.clone(),
                second: state.momentum.moment_2.clone(),
            })
            .collect();
        all.sort_by_key(|m| m.id.val());
        all
    }

    /// Continues from `moments` (as [`Self::moments`] gave them), replacing any held.
    pub fn restore(&mut self, moments: Vec<Moments>) {
        self.states = moments
            .into_iter()
            .map(|m| {
                let momentum = AdaptiveMomentumState::new(m.time, m.first, m.second);
                (m.id, AdamState { momentum })
            })
            .collect();
    }
}

/// Takes each parameter's gradient and moments, with its value, flattened.
struct Collect<'a> {
    grads: &'a mut GradientsParams,
    states: &'a mut HashMap<ParamId, AdamState<1>>,
    updates: Vec<Update>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.updates.push(Update {
            id: param.id,
            value: value.reshape([n]),
            grad: grad.reshape([n]),
            state: self.states.remove(&param.id),
        });
    }
}

/// `module` with the values of `values` (flattened, by parameter id) in place of its own,
/// in their shapes and with their autodiff settings; parameters not in `values` stay.
pub fn replace_values<M: Module>(module: M, values: HashMap<ParamId, Tensor<1>>) -> M {
    module.map(&mut Replace { values })
}

/// Puts the updated values in place of the old, in their shapes, with the old values'
/// autodiff settings (as burn's own optimisers do).
struct Replace {
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleMapper for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, old, mapper) = param.consume();
        let value = match self.values.remove(&id) {
            Some(updated) => {
                let (require_grad, checkpointing) =
                    (old.is_require_grad(), old.gradient_checkpointing_strategy());
                let shape = old.shape();
                drop(old);
                let mut value = Tensor::from_inner(updated.reshape(shape));
                if let Some(strategy) = checkpointing {
                    value = value.with_gradient_checkpointing_strategy(strategy);
                }
                if require_grad {
                    value = value.require_grad();
                }
                value
            }
            None => old,
        };
        Param::from_mapped_value(id, value, mapper)
    }
}
