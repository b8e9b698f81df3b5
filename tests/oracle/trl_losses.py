#!/usr/bin/env python3
"""TRL's own loss code on the workbench's inputs: the oracle of tests/trl_losses.rs.

Nothing here re-types a formula. Each case runs the code path a TRL training step runs:

* ``dpo``: ``DPOTrainer._compute_loss`` (every ``loss_type``, ``loss_weights``,
  ``label_smoothing``, ``f_divergence_type`` / ``f_alpha_divergence_coef``, ``discopop_tau``);
* ``cpo``: ``CPOTrainer.get_batch_loss_metrics`` (``sigmoid`` / ``hinge`` / ``ipo`` /
  ``simpo``, ``cpo_alpha``, ``label_smoothing``, ``simpo_gamma``, AlphaPO ``alpha``);
* ``orpo``: ``ORPOTrainer.get_batch_loss_metrics``.

The trainers are built with ``object.__new__`` and only the attributes their loss code
reads. The model is a stand-in whose outputs carry the given sequence log-probabilities:
for ``DPOTrainer`` its per-token log-probabilities (each response's log-probability spread
evenly over its tokens; the reference's come in the batch, ``precompute_ref_log_probs``),
for CPO and ORPO logits over a two-token vocabulary, [lp, log(1 - e^lp)], whose
log-softmax at the label is lp = log pi / |y| at every response token. Prompts are one
token, so nothing before the response is predicted and ORPO's NLL, which also counts the
prompt, covers the response tokens only.

Float64 cases run with torch's default dtype float64, so that the constants TRL makes with
``torch.tensor`` (``exo_pair``'s epsilon) are float64 too. ``ORPOTrainer.odds_ratio_loss``
casts the log-probabilities to float32 whatever their dtype, so its float64 values carry
float32 rounding (the Rust test compares ORPO at the float32 bound).

Per-pair losses are read where TRL reduces them (``per_sequence_loss.mean()``, and the
losses ``cpo_loss`` / ``odds_ratio_loss`` return); gradients are those of TRL's batch loss
with respect to each sequence log-probability of the policy.

Usage: trl_losses.py IN.json OUT.json, IN = {"cases": [{"trainer", "dtype", "beta",
"options", "policy_chosen", "policy_rejected", "reference_chosen", "reference_rejected",
"chosen_tokens", "rejected_tokens"}]}; OUT = {"trl": VERSION, "results": [{"loss",
"per_pair" (or null), "grad_chosen", "grad_rejected"}]}.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections import defaultdict
from types import SimpleNamespace

import torch
import trl
from torch.overrides import TorchFunctionMode
from trl import DPOTrainer
from trl.experimental.cpo import CPOTrainer
from trl.experimental.orpo import ORPOTrainer

warnings.filterwarnings("ignore")


class Accelerator:
    """What the loss code asks of accelerate's Accelerator on one process."""

    device = torch.device("cpu")

    @staticmethod
    def gather(tensor):
        return tensor

    gather_for_metrics = gather


class LossMeans(TorchFunctionMode):
    """Records the 1-D tensors that ``.mean()`` reduces while gradients are tracked: the
    first one of the batch size is DPOTrainer's ``per_sequence_loss``."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch
        self.seen = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.mean and len(args) == 1 and not kwargs:
            tensor = args[0]
            if tensor.dim() == 1 and tensor.shape[0] == self.batch and tensor.requires_grad:
                self.seen.append(tensor.detach().clone())
        return func(*args, **kwargs)


def leaves(case, dtype):
    """The policy's sequence log-probabilities [chosen; rejected] as one leaf."""
    values = case["policy_chosen"] + case["policy_rejected"]
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def token_layout(case):
    """Token counts [chosen; rejected] and the completion mask, prompt token first."""
    counts = [int(n) for n in case["chosen_tokens"] + case["rejected_tokens"]]
    width = max(counts) + 1
    mask = torch.zeros(len(counts), width, dtype=torch.long)
    for row, n in enumerate(counts):
        mask[row, 1 : n + 1] = 1
    return counts, mask


def dpo(case, dtype):
    opts = case["options"]
    batch = len(case["policy_chosen"])
    trainer = object.__new__(DPOTrainer)
    loss_types = opts["loss_type"]
    trainer.beta = case["beta"]
    trainer.loss_types = loss_types
    trainer.loss_weights = opts.get("loss_weights") or [1.0] * len(loss_types)
    trainer.f_divergence_type = opts.get("f_divergence_type", "reverse_kl")
    trainer.f_alpha_divergence_coef = opts.get("f_alpha_divergence_coef", 0.5)
    trainer.label_smoothing = opts.get("label_smoothing", 0.0)
    trainer.use_weighting = False
    trainer.ld_alpha = None
    trainer.precompute_ref_logps = True
    trainer.aux_loss_enabled = False
    trainer.args = SimpleNamespace(discopop_tau=opts.get("discopop_tau", 0.05))
    trainer._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    trainer._total_train_tokens = 0
    trainer._tp_size = 1
    trainer.accelerator = Accelerator()

    logps = leaves(case, dtype)
    counts, completion_mask = token_layout(case)
    shift_mask = completion_mask[:, 1:].to(dtype)
    per_token = (logps / torch.tensor(counts, dtype=dtype)).unsqueeze(1) * shift_mask

    class Model:
        training = True

        def __call__(self, **kwargs):
            rows, width = per_token.shape
            return SimpleNamespace(
                log_probs=per_token,
                entropy=torch.zeros(rows, width, dtype=dtype),
                mean_logits=torch.zeros(rows, width, dtype=dtype),
                is_top1=torch.zeros(rows, width, dtype=torch.bool),
            )

    trainer.model = Model()
    inputs = {
        "input_ids": torch.zeros_like(completion_mask),
        "attention_mask": torch.ones_like(completion_mask),
        "completion_mask": completion_mask,
        "ref_chosen_logps": torch.tensor(case["reference_chosen"], dtype=dtype),
        "ref_rejected_logps": torch.tensor(case["reference_rejected"], dtype=dtype),
    }
    recorder = LossMeans(batch)
    with recorder:
        loss = trainer._compute_loss(trainer.model, inputs, return_outputs=False)
    loss.backward()
    per_pair = None
    if len(loss_types) == 1 and loss_types[0] != "sft":
        per_pair = recorder.seen[0].tolist()
    return loss, per_pair, logps.grad


def cpo_batch(case, dtype, trainer_class):
    """A stand-in model and a batch whose log-probabilities are the case's."""
    logps = leaves(case, dtype)
    counts, completion_mask = token_layout(case)
    width = completion_mask.shape[1]
    batch = len(case["policy_chosen"])
    per_token = logps / torch.tensor(counts, dtype=dtype)
    # log-softmax at label 0 of [lp, log(1 - e^lp)] is lp (the two probabilities sum to 1).
    other = torch.log(-torch.expm1(per_token))
    logits = torch.zeros(2 * batch, width, 2, dtype=dtype)
    predicts = completion_mask[:, 1:].bool()  # position t predicts token t + 1
    pair = torch.stack([per_token, other], dim=1).unsqueeze(1).expand(-1, width - 1, -1)
    logits = torch.cat([torch.where(predicts.unsqueeze(-1), pair, logits[:, :-1]), logits[:, -1:]], dim=1)

    class Model:
        training = True

        def __call__(self, input_ids, attention_mask=None, use_cache=False, **kwargs):
            return SimpleNamespace(logits=logits)

    labels = torch.where(completion_mask.bool(), 0, -100)
    attention = torch.ones_like(completion_mask)
    for row, n in enumerate(counts):
        attention[row, n + 1 :] = 0
    data = {}
    for side, rows in (("chosen", slice(0, batch)), ("rejected", slice(batch, 2 * batch))):
        data[f"{side}_input_ids"] = torch.zeros_like(completion_mask[rows])
        data[f"{side}_attention_mask"] = attention[rows]
        data[f"{side}_labels"] = labels[rows]
    trainer = object.__new__(trainer_class)
    trainer.accelerator = Accelerator()
    trainer.is_encoder_decoder = False
    trainer.aux_loss_enabled = False
    trainer.pad_token_id = 0
    trainer.padding_value = 0
    trainer.beta = case["beta"]
    return trainer, Model(), data, logps


def cpo(case, dtype):
    opts = case["options"]
    trainer, model, data, logps = cpo_batch(case, dtype, CPOTrainer)
    trainer.loss_type = opts.get("loss_type", "sigmoid")
    trainer.label_smoothing = opts.get("label_smoothing", 0.0)
    trainer.cpo_alpha = opts.get("cpo_alpha", 1.0)
    trainer.simpo_gamma = opts.get("simpo_gamma", 0.5)
    trainer.alpha = opts.get("alpha", 0.0)
    loss, _ = trainer.get_batch_loss_metrics(model, data)
    loss.backward()
    per_pair = None
    if trainer.cpo_alpha == 0:
        forward = trainer.concatenated_forward(model, data)
        per_pair = trainer.cpo_loss(forward[0], forward[1])[0].tolist()
    return loss, per_pair, logps.grad


def orpo(case, dtype):
    trainer, model, data, logps = cpo_batch(case, dtype, ORPOTrainer)
    loss, _ = trainer.get_batch_loss_metrics(model, data)
    loss.backward()
    return loss, None, logps.grad


def main():
    cases = json.load(open(sys.argv[1]))["cases"]
    results = []
    for case in cases:
        dtype = {"f64": torch.float64, "f32": torch.float32}[case["dtype"]]
        # Constants TRL makes with torch.tensor (exo_pair's epsilon) take the default dtype,
        # as in a float64 training run.
        torch.set_default_dtype(dtype)
        run = {"dpo": dpo, "cpo": cpo, "orpo": orpo}[case["trainer"]]
        loss, per_pair, grad = run(case, dtype)
        batch = len(case["policy_chosen"])
        results.append(
            {
                "loss": loss.item(),
                "per_pair": per_pair,
                "grad_chosen": grad[:batch].tolist(),
                "grad_rejected": grad[batch:].tolist(),
            }
        )
    json.dump({"trl": trl.__version__, "results": results}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
