"""The learning-rate schedules and gradient clipping of PyTorch and transformers, in f64,
on the settings and gradients tests/step_rules.rs writes: the oracle of the workbench's
`optim::LrSchedule` and `optim::clip`.

Input (argv[1], JSON): {"schedules": [{"decay", "warmup_steps", "warmup_ratio", "floor",
"total", "lr"}], "clips": [{"max_norm", "grads": [[...], ...], "groups"}]}.
Output (stdout, JSON): {"schedules": [[lr of every step]], "clips": [{"norms", "grads"}]}.
"""

import json
import math
import sys

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR
from transformers import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)


def scheduler(optimizer, s, warmup):
    """PyTorch's or transformers' own scheduler for the setting `s`."""
    total, floor, decay = s["total"], s["floor"], s["decay"]
    if decay == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    if decay == "linear" and floor == 0.0:
        return get_linear_schedule_with_warmup(optimizer, warmup, total)
    if decay == "linear" and warmup == 0:
        return LinearLR(optimizer, start_factor=1.0, end_factor=floor, total_iters=total)
    if decay == "cosine" and warmup == 0 and floor > 0.0:
        return CosineAnnealingLR(optimizer, T_max=total, eta_min=floor * s["lr"])
    if decay == "cosine" and floor == 0.0:
        return get_cosine_schedule_with_warmup(optimizer, warmup, total)
    if decay == "cosine":
        return get_cosine_with_min_lr_schedule_with_warmup(
            optimizer, warmup, total, min_lr_rate=floor
        )
    raise ValueError(f"no oracle for {s}")


def rates(s):
    """The learning rate of each of the `total` steps, as the optimiser sees it."""
    # transformers' TrainingArguments.get_warmup_steps: ceil(total * warmup_ratio).
    warmup = s["warmup_steps"] or math.ceil(s["total"] * s["warmup_ratio"])
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=s["lr"])
    schedule = scheduler(optimizer, s, warmup)
    out = []
    for _ in range(s["total"]):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return out


def clipped(c):
    """clip_grad_norm_ on each group's gradients (each parameter's rows of that group)."""
    grads = [torch.tensor(g, dtype=torch.float64) for g in c["grads"]]
    norms, out = [], [g.clone() for g in grads]
    for group in range(c["groups"]):
        params = []
        for g in grads:
            p = torch.zeros_like(g[group], requires_grad=True)
            p.grad = g[group].clone()
            params.append(p)
        norm = torch.nn.utils.clip_grad_norm_(params, c["max_norm"])
        norms.append(norm.item())
        for o, p in zip(out, params):
            o[group] = p.grad
    return {"norms": norms, "grads": [o.tolist() for o in out]}


def main():
    with open(sys.argv[1]) as f:
        settings = json.load(f)
    json.dump(
        {
            "schedules": [rates(s) for s in settings["schedules"]],
            "clips": [clipped(c) for c in settings["clips"]],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
