#!/usr/bin/env python3
"""Independent float64 numpy oracle for the bandit experiments (Figures 2 and 3).

It implements docs/experiments.md section 1 ("Bandit conventions") from the spec text
alone, without looking at the Rust workbench, and checks the HDF5 results files the
workbench writes against the contract of section 3.

Paper: "Common Learning Constraints Alter Interpretations of Direct Preference
Optimization" (Kong, Hu, He and Wipf). Equation numbers below are the
paper's.

Usage
-----
    python3 tests/oracle/bandit_oracle.py check FILE.h5 [--tol 1e-3]
    python3 tests/oracle/bandit_oracle.py selftest

`check` exits 0 when every dataset has the documented shape and (in `expected` data
mode) every value is within `tol` (max abs difference) of the oracle's; 1 otherwise;
2 for a file whose `kind` this oracle does not cover.

Conventions (all float64, natural log)
--------------------------------------
* policy:   pi_theta = softmax(theta), theta in R^K.
* preference (eq. 27): p*(i > j) = pi*(i) / (pi*(i) + pi*(j)), p*(i > i) = 1/2.
* data, `expected` mode: the loss is the exact expectation over labelled pairs (w, l),
  written as sum_{w,l} W[w, l] * loss(w, l) with W the probability of the labelled pair:
    - `uniform`  : W[i, j] = p*(i > j) / (K(K-1)/2) for i != j, W[i, i] = 0   (App. B.1)
    - `reference`: i, j ~ pi_ref independently (i = j allowed), winner i w.p. p*(i > j):
                   W[i, j] = pi_ref(i) pi_ref(j) p*(i > j) + pi_ref(j) pi_ref(i) p*(i > j)
                           = 2 pi_ref(i) pi_ref(j) p*(i > j)   (diagonal: pi_ref(i)^2)
* h(w, l) = log[pi(w)/pi_ref(w)] - log[pi(l)/pi_ref(l)]
* losses: dpo  -log sigma(beta h)                      (eq. 6)
          ipo  (h - 1/(2 beta))^2                      (eq. 9)
          fdpo -log sigma(beta [f'(u_w) - f'(u_l)]), u = pi / pi_ref  (Wang et al. 2024)
* RLHF counterparts (eq. 3 with the exact expectation over the K actions):
          L(pi) = -sum_y pi(y) r(y) + beta D(pi, pi_ref)
  dpo:  r = log max(pi*, reward_floor), D = KL(pi || pi_ref)
  fdpo: r = log max(pi*, reward_floor), D = D_f(pi || pi_ref) = sum pi_ref f(pi / pi_ref)
  ipo:  r = r_IPO(y) = sum_y' pi_ref(y') p*(y > y')   (eq. 7), D = KL(pi || pi_ref)
* weight decay (App. B.1): alpha * ||theta||_2^2 added to every loss.
* Adam (Kingma & Ba 2014), with bias correction; one full-batch step per epoch.
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------
# Basic pieces
# --------------------------------------------------------------------------------------


def log_softmax(theta: np.ndarray) -> np.ndarray:
    """log softmax(theta), computed stably."""
    theta = np.asarray(theta, dtype=np.float64)
    z = theta - np.max(theta)
    return z - np.log(np.sum(np.exp(z)))


def softmax(theta: np.ndarray) -> np.ndarray:
    """pi_theta = softmax(theta) (App. B.1: pi_theta(y_i) = softmax[theta_i])."""
    return np.exp(log_softmax(theta))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = -log sigma(-x), stable."""
    return np.logaddexp(0.0, x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), stable."""
    return np.exp(-np.logaddexp(0.0, -x))


def preference_matrix(pi_star: np.ndarray) -> np.ndarray:
    """P[i, j] = p*(i > j) = pi*(i) / (pi*(i) + pi*(j))  (eq. 27); P[i, i] = 1/2.

    Where pi*(i) + pi*(j) = 0 (both zero) the pair is a tie, p = 1/2.
    """
    s = np.asarray(pi_star, dtype=np.float64)
    den = s[:, None] + s[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(den > 0, s[:, None] / np.where(den > 0, den, 1.0), 0.5)
    np.fill_diagonal(P, 0.5)
    return P


def pair_weights(pi_star: np.ndarray, pi_ref: np.ndarray, pairs: str) -> np.ndarray:
    """W[w, l] = probability that a labelled training pair is (winner w, loser l).

    `uniform`  (App. B.1): each unordered pair {i, j}, i != j, with probability
               1/(K(K-1)/2); winner i with probability p*(i > j).
    `reference` (App. C / eq. 9): i, j drawn independently from pi_ref (i = j allowed);
               winner i with probability p*(i > j). The labelled pair (w, l), w != l,
               arises from the draws (w, l) and (l, w): W = 2 pi_ref(w) pi_ref(l) p*(w > l);
               for w = l: W = pi_ref(w)^2 (its loss has h = 0, a constant).
    sum(W) = 1 in both cases.
    """
    P = preference_matrix(pi_star)
    K = len(pi_star)
    if pairs == "uniform":
        n_pairs = K * (K - 1) / 2
        W = P / n_pairs
        np.fill_diagonal(W, 0.0)
    elif pairs == "reference":
        r = np.asarray(pi_ref, dtype=np.float64)
        W = 2.0 * np.outer(r, r) * P
    else:
        raise ValueError(f"unknown data.pairs {pairs!r} (uniform | reference)")
    return W


# --------------------------------------------------------------------------------------
# f-divergences: f, f', and u f''(u) (the derivative of f'(u) with respect to log u)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """An f-divergence generator, D_f(pi || pi_ref) = sum pi_ref f(pi / pi_ref).

    name: reverse_kl | forward_kl | js | alpha (with parameter a in (0, 1)).
    All three functions take log u (u = pi / pi_ref) to stay accurate for tiny u.
    """

    name: str
    a: float | None = None

    def f(self, logu: np.ndarray) -> np.ndarray:
        """f(u): reverse_kl u log u; forward_kl -log u;
        js u log u - (1+u) log((1+u)/2); alpha (u^(1-a) - (1-a) u - a) / (a (a-1))."""
        u = np.exp(logu)
        if self.name == "reverse_kl":
            return u * logu
        if self.name == "forward_kl":
            return -logu
        if self.name == "js":
            return u * logu - (1.0 + u) * (np.log1p(u) - math.log(2.0))
        if self.name == "alpha":
            a = self.a
            return (np.exp((1.0 - a) * logu) - (1.0 - a) * u - a) / (a * (a - 1.0))
        raise ValueError(f"unknown divergence {self.name!r}")

    def fprime(self, logu: np.ndarray) -> np.ndarray:
        """f'(u): reverse_kl log u + 1; forward_kl -1/u; js log(2u/(1+u));
        alpha (1 - u^(-a)) / a."""
        if self.name == "reverse_kl":
            return logu + 1.0
        if self.name == "forward_kl":
            return -np.exp(-logu)
        if self.name == "js":
            return math.log(2.0) + logu - np.log1p(np.exp(logu))
        if self.name == "alpha":
            return (1.0 - np.exp(-self.a * logu)) / self.a
        raise ValueError(f"unknown divergence {self.name!r}")

    def u_fsecond(self, logu: np.ndarray) -> np.ndarray:
        """d f'(u) / d log u = u f''(u): reverse_kl 1; forward_kl 1/u; js 1/(1+u);
        alpha u^(-a)."""
        if self.name == "reverse_kl":
            return np.ones_like(logu)
        if self.name == "forward_kl":
            return np.exp(-logu)
        if self.name == "js":
            return 1.0 / (1.0 + np.exp(logu))
        if self.name == "alpha":
            return np.exp(-self.a * logu)
        raise ValueError(f"unknown divergence {self.name!r}")


KL = Divergence("reverse_kl")  # KL(pi || pi_ref) = D_f with f(u) = u log u


# --------------------------------------------------------------------------------------
# Problem and methods
# --------------------------------------------------------------------------------------


@dataclass
class Bandit:
    """The bandit of section 1: pi_star, pi_ref, beta (= lambda), reward_floor, pairs."""

    pi_star: np.ndarray
    pi_ref: np.ndarray
    beta: float = 1.0
    reward_floor: float = 1e-12
    pairs: str = "uniform"

    def __post_init__(self):
        self.pi_star = np.asarray(self.pi_star, dtype=np.float64)
        self.pi_ref = np.asarray(self.pi_ref, dtype=np.float64)
        if self.pi_star.shape != self.pi_ref.shape:
            raise ValueError("pi_star and pi_ref must have the same length K")
        self.beta = float(self.beta)
        self.reward_floor = float(self.reward_floor)
        self.W = pair_weights(self.pi_star, self.pi_ref, self.pairs)
        self.log_pi_ref = np.log(self.pi_ref)

    @property
    def K(self) -> int:
        return len(self.pi_star)

    def r_star(self) -> np.ndarray:
        """r*(y) = log pi*(y), with log 0 replaced by log(reward_floor)."""
        return np.log(np.maximum(self.pi_star, self.reward_floor))

    def r_ipo(self) -> np.ndarray:
        """r_IPO(y) = sum_y' pi_ref(y') p*(y > y')  (eq. 7)."""
        return preference_matrix(self.pi_star) @ self.pi_ref


@dataclass(frozen=True)
class Method:
    """A preference method: loss in {dpo, ipo, fdpo}; fdpo also has a divergence."""

    loss: str
    divergence: str | None = None
    a: float | None = None

    @property
    def name(self) -> str:
        """Group name in the results file: loss, plus "_" + divergence if any."""
        return self.loss if self.divergence is None else f"{self.loss}_{self.divergence}"

    def div(self) -> Divergence:
        if self.divergence is None:
            raise ValueError(f"method {self.loss} has no divergence")
        if self.divergence == "alpha" and self.a is None:
            raise ValueError("fdpo with divergence alpha needs the parameter `a`")
        return Divergence(self.divergence, self.a)


def theta_grad_from_logpi_grad(g: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Chain rule through the softmax for L(log pi):
    d log pi_j / d theta_k = delta_jk - pi_k, so dL/dtheta_k = g_k - pi_k sum_j g_j."""
    return g - pi * np.sum(g)


def theta_grad_from_pi_grad(gp: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Chain rule through the softmax for L(pi):
    d pi_j / d theta_k = pi_j (delta_jk - pi_k), so dL/dtheta_k = pi_k (gp_k - pi . gp)."""
    return pi * (gp - np.dot(pi, gp))


def method_loss_grad(theta: np.ndarray, method: Method, bandit: Bandit, alpha: float = 0.0):
    """Expected pairwise loss  L(theta) = sum_{w,l} W[w,l] loss(w,l) + alpha ||theta||^2
    and its analytic gradient with respect to theta.

    With x = log(pi / pi_ref) (a K-vector), every pairwise loss depends on x only:
      dpo  : loss = softplus(-beta (x_w - x_l)),     d loss/d(x_w - x_l) = -beta sigma(-z)
      ipo  : loss = (x_w - x_l - 1/(2 beta))^2,      d loss/d(x_w - x_l) = 2 (h - 1/(2 beta))
      fdpo : loss = softplus(-beta (f'_w - f'_l)),   d loss/d(f'_w - f'_l) = -beta sigma(-z),
             d f'_k / d x_k = u_k f''(u_k).
    For G[w,l] = W[w,l] * d loss/d(q_w - q_l):  dL/dq_k = sum_l G[k,l] - sum_w G[w,k].
    Since d x / d log pi = identity, the softmax chain rule for log pi then applies.
    """
    theta = np.asarray(theta, dtype=np.float64)
    logpi = log_softmax(theta)
    pi = np.exp(logpi)
    x = logpi - bandit.log_pi_ref
    beta = bandit.beta
    W = bandit.W
    if method.loss == "dpo":
        q, dq_dx = x, np.ones_like(x)
        z = beta * (q[:, None] - q[None, :])
        ell = softplus(-z)
        dell = -beta * sigmoid(-z)
    elif method.loss == "ipo":
        q, dq_dx = x, np.ones_like(x)
        h = q[:, None] - q[None, :]
        c = 1.0 / (2.0 * beta)
        ell = (h - c) ** 2
        dell = 2.0 * (h - c)
    elif method.loss == "fdpo":
        d = method.div()
        q, dq_dx = d.fprime(x), d.u_fsecond(x)
        z = beta * (q[:, None] - q[None, :])
        ell = softplus(-z)
        dell = -beta * sigmoid(-z)
    else:
        raise ValueError(f"unknown loss {method.loss!r} (dpo | ipo | fdpo)")
    G = W * dell
    g_logpi = (G.sum(axis=1) - G.sum(axis=0)) * dq_dx
    loss = float(np.sum(W * ell)) + alpha * float(theta @ theta)
    grad = theta_grad_from_logpi_grad(g_logpi, pi) + 2.0 * alpha * theta
    return loss, grad


def counterpart_reward_and_divergence(method: Method, bandit: Bandit):
    """(r, D) of the RLHF counterpart: dpo (log pi*, KL), fdpo(f) (log pi*, D_f),
    ipo (r_IPO of eq. 7, KL)."""
    if method.loss == "dpo":
        return bandit.r_star(), KL
    if method.loss == "fdpo":
        return bandit.r_star(), method.div()
    if method.loss == "ipo":
        return bandit.r_ipo(), KL
    raise ValueError(f"unknown loss {method.loss!r}")


def counterpart_loss_grad(theta: np.ndarray, method: Method, bandit: Bandit, alpha: float = 0.0):
    """Exact expected RLHF objective (eq. 3 over the K actions) plus weight decay:
        L(theta) = -sum pi r + beta sum pi_ref f(pi / pi_ref) + alpha ||theta||^2,
    dL/dpi_k = -r_k + beta f'(u_k)  (since d/dpi_k [pi_ref_k f(pi_k/pi_ref_k)] = f'(u_k)),
    then the softmax chain rule for a function of pi.
    """
    theta = np.asarray(theta, dtype=np.float64)
    r, d = counterpart_reward_and_divergence(method, bandit)
    logpi = log_softmax(theta)
    pi = np.exp(logpi)
    x = logpi - bandit.log_pi_ref
    loss = -float(pi @ r) + bandit.beta * float(bandit.pi_ref @ d.f(x)) + alpha * float(theta @ theta)
    gp = -r + bandit.beta * d.fprime(x)
    grad = theta_grad_from_pi_grad(gp, pi) + 2.0 * alpha * theta
    return loss, grad


# --------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------


@dataclass
class AdamConfig:
    lr: float = 0.01
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8


def adam_train(grad_fn, theta0, opt: AdamConfig, epochs: int, record: bool = False):
    """Adam (Kingma & Ba 2014, Algorithm 1), one full-batch step per epoch:
        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
        mhat = m / (1 - b1^t);  vhat = v / (1 - b2^t);
        theta -= lr mhat / (sqrt(vhat) + eps),     t = 1, 2, ...
    Returns the final theta, or (record=True) the array [epochs+1, K] of theta after
    0, 1, ..., epochs steps.
    """
    b1, b2 = float(opt.betas[0]), float(opt.betas[1])
    theta = np.array(theta0, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    traj = [theta.copy()] if record else None
    for t in range(1, epochs + 1):
        g = grad_fn(theta)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        mhat = m / (1.0 - b1**t)
        vhat = v / (1.0 - b2**t)
        theta = theta - opt.lr * mhat / (np.sqrt(vhat) + opt.eps)
        if record:
            traj.append(theta.copy())
    return np.array(traj) if record else theta


# --------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum p log(p/q), with 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    mask = p > 0
    with np.errstate(divide="ignore"):
        return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(q[mask]))))


def distance(name: str, m: np.ndarray, c: np.ndarray) -> float:
    """Distance between a method policy m and its counterpart c (section 1):
    l2 ||m - c||_2; tv 0.5 sum |m - c|; kl KL(c || m); js 0.5 KL(c||M) + 0.5 KL(m||M),
    M = (c + m)/2."""
    m = np.asarray(m, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if name == "l2":
        return float(np.sqrt(np.sum((m - c) ** 2)))
    if name == "tv":
        return float(0.5 * np.sum(np.abs(m - c)))
    if name == "kl":
        return _kl(c, m)
    if name == "js":
        M = 0.5 * (c + m)
        return 0.5 * _kl(c, M) + 0.5 * _kl(m, M)
    raise ValueError(f"unknown distance {name!r} (l2 | tv | kl | js)")


DISTANCES = ("l2", "tv", "kl", "js")


# --------------------------------------------------------------------------------------
# Experiments from a config
# --------------------------------------------------------------------------------------


def parse_methods(cfg: dict) -> list[Method]:
    out = []
    for entry in cfg.get("methods", []):
        a = entry.get("a")
        out.append(Method(entry["loss"], entry.get("divergence"), None if a is None else float(a)))
    return out


def parse_bandit(cfg: dict) -> Bandit:
    b = cfg.get("bandit", {})
    d = cfg.get("data", {})
    return Bandit(
        pi_star=b.get("pi_star", [0.6, 0.3, 0.1]),
        pi_ref=b.get("pi_ref", [0.4, 0.4, 0.2]),
        beta=b.get("beta", 1.0),
        reward_floor=b.get("reward_floor", 1e-12),
        pairs=d.get("pairs", "uniform"),
    )


def parse_adam(cfg: dict) -> tuple[AdamConfig, int]:
    o = cfg.get("optimizer", {})
    name = o.get("name", "adam")
    if name != "adam":
        raise ValueError(f"oracle only implements optimizer adam, got {name!r}")
    betas = o.get("betas", [0.9, 0.999])
    return AdamConfig(float(o.get("lr", 0.01)), (float(betas[0]), float(betas[1])), float(o.get("eps", 1e-8))), int(o.get("epochs", 1000))


def initial_theta(cfg: dict, bandit: Bandit) -> np.ndarray:
    """policy.init: "log_pi_ref" (default), "zeros", or an explicit list of K logits."""
    p = cfg.get("policy", {})
    if p.get("name", "softmax") != "softmax":
        raise ValueError(f"oracle only implements policy softmax, got {p.get('name')!r}")
    init = p.get("init", "log_pi_ref")
    if isinstance(init, str):
        if init == "log_pi_ref":
            return np.log(bandit.pi_ref)
        if init == "zeros":
            return np.zeros(bandit.K)
        raise ValueError(f"unknown policy.init {init!r}")
    theta = np.asarray(init, dtype=np.float64)
    if theta.shape != (bandit.K,):
        raise ValueError(f"policy.init has {theta.shape} entries, K = {bandit.K}")
    return theta


def weight_decay_alpha(cfg: dict):
    return cfg.get("constraints", {}).get("weight_decay", {}).get("alpha", 0.0)


def early_stop_epochs(cfg: dict, default: int) -> int:
    """Epoch budget E for fig3: constraints.early_stop.epochs if given, else optimizer.epochs."""
    es = cfg.get("constraints", {}).get("early_stop", {})
    if isinstance(es, dict) and isinstance(es.get("epochs"), int):
        return int(es["epochs"])
    return default


def train_pair(method, bandit, theta0, opt, epochs, alpha, record=False):
    """Train the method and its counterpart from the same init; return (method, counterpart)
    theta (or theta trajectories if record)."""
    tm = adam_train(lambda t: method_loss_grad(t, method, bandit, alpha)[1], theta0, opt, epochs, record)
    tc = adam_train(lambda t: counterpart_loss_grad(t, method, bandit, alpha)[1], theta0, opt, epochs, record)
    return tm, tc


def compute_weight_decay_sweep(cfg: dict) -> dict:
    """fig2: for each alpha and method, train method and counterpart `epochs` Adam steps."""
    bandit = parse_bandit(cfg)
    opt, epochs = parse_adam(cfg)
    theta0 = initial_theta(cfg, bandit)
    alphas = np.atleast_1d(np.asarray(weight_decay_alpha(cfg), dtype=np.float64))
    dist_name = cfg.get("distance", "l2")
    out = {"alpha": alphas}
    for method in parse_methods(cfg):
        P, R = [], []
        for a in alphas:
            tm, tc = train_pair(method, bandit, theta0, opt, epochs, float(a))
            P.append(softmax(tm))
            R.append(softmax(tc))
        P, R = np.array(P), np.array(R)
        n = method.name
        out[f"{n}/policy"] = P
        out[f"{n}/rlhf_policy"] = R
        out[f"{n}/distance"] = np.array([distance(dist_name, p, r) for p, r in zip(P, R)])
        for dn in DISTANCES:
            out[f"{n}/distance_{dn}"] = np.array([distance(dn, p, r) for p, r in zip(P, R)])
    return out


def compute_early_stopping(cfg: dict) -> dict:
    """fig3: every epoch 0..E of the method and of its counterpart (same budget), the
    configured distance between row e of both, and between the method's row e and the
    counterpart's final row E (converged reading)."""
    bandit = parse_bandit(cfg)
    opt, epochs = parse_adam(cfg)
    E = early_stop_epochs(cfg, epochs)
    theta0 = initial_theta(cfg, bandit)
    alpha = weight_decay_alpha(cfg)
    if isinstance(alpha, list):
        if len(alpha) != 1:
            raise ValueError("early_stopping expects a scalar constraints.weight_decay.alpha")
        alpha = alpha[0]
    alpha = float(alpha)
    dist_name = cfg.get("distance", "l2")
    out = {"epoch": np.arange(E + 1, dtype=np.float64)}
    for method in parse_methods(cfg):
        tm, tc = train_pair(method, bandit, theta0, opt, E, alpha, record=True)
        P = np.array([softmax(t) for t in tm])
        R = np.array([softmax(t) for t in tc])
        n = method.name
        out[f"{n}/policy"] = P
        out[f"{n}/rlhf_policy"] = R
        out[f"{n}/distance"] = np.array([distance(dist_name, p, r) for p, r in zip(P, R)])
        out[f"{n}/distance_converged"] = np.array([distance(dist_name, p, R[-1]) for p in P])
    return out


def expected_shapes(cfg: dict) -> dict:
    """Dataset name -> shape, from the section-3 table, for the configured methods."""
    kind = cfg.get("kind")
    K = len(cfg.get("bandit", {}).get("pi_star", [0.6, 0.3, 0.1]))
    methods = parse_methods(cfg)
    shapes = {}
    if kind == "weight_decay_sweep":
        A = len(np.atleast_1d(np.asarray(weight_decay_alpha(cfg))))
        shapes["alpha"] = (A,)
        for m in methods:
            n = m.name
            shapes[f"{n}/policy"] = (A, K)
            shapes[f"{n}/rlhf_policy"] = (A, K)
            shapes[f"{n}/distance"] = (A,)
            for dn in DISTANCES:
                shapes[f"{n}/distance_{dn}"] = (A,)
    elif kind == "early_stopping":
        _, epochs = parse_adam(cfg)
        E = early_stop_epochs(cfg, epochs)
        shapes["epoch"] = (E + 1,)
        for m in methods:
            n = m.name
            shapes[f"{n}/policy"] = (E + 1, K)
            shapes[f"{n}/rlhf_policy"] = (E + 1, K)
            shapes[f"{n}/distance"] = (E + 1,)
            shapes[f"{n}/distance_converged"] = (E + 1,)
    else:
        raise NotImplementedError(kind)
    return shapes


COMPUTE = {"weight_decay_sweep": compute_weight_decay_sweep, "early_stopping": compute_early_stopping}
ROOT_ATTRS = ("experiment", "kind", "config_toml", "backend", "dtype", "workbench_version", "created_utc")


# --------------------------------------------------------------------------------------
# Checker
# --------------------------------------------------------------------------------------


def _attr_str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _attr_str(v[()])
    return str(v)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b|; positions where exactly one side is NaN/inf (or infs of different sign)
    count as inf, positions equal including NaN == NaN count as 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        d = np.where(same, 0.0, np.abs(a - b))
    d = np.where(np.isnan(d), np.inf, d)
    return float(np.max(d)) if d.size else 0.0


def check_file(path: str, tol: float = 1e-3) -> int:
    import h5py

    failures = []
    with h5py.File(path, "r") as f:
        for a in ROOT_ATTRS:
            if a not in f.attrs:
                failures.append(f"root attribute `{a}` missing")
                print(f"FAIL  root attribute `{a}` missing")
        if "config_toml" not in f.attrs:
            print(f"FAIL  {path}: no root attribute config_toml; cannot check anything else")
            return 1
        cfg = tomllib.loads(_attr_str(f.attrs["config_toml"]))
        kind = cfg.get("kind")
        if "kind" in f.attrs and _attr_str(f.attrs["kind"]) != kind:
            # section 3 does not say the root attribute must equal config kind: note only
            print(f"NOTE  root attribute kind={_attr_str(f.attrs['kind'])!r}, config_toml kind={kind!r}; "
                  f"using the config's")
        if kind not in COMPUTE:
            print(f"SKIP  {path}: kind {kind!r} is not covered by this oracle "
                  f"(covers {', '.join(COMPUTE)})")
            return 2
        print(f"file {path}: experiment {cfg.get('name')!r}, kind {kind!r}, "
              f"pairs {cfg.get('data', {}).get('pairs', 'uniform')!r}, "
              f"mode {cfg.get('data', {}).get('mode', 'expected')!r}, tol {tol:g}")

        # 1. shapes and dtypes (section 3)
        shapes = expected_shapes(cfg)
        present = {}
        for name, shape in shapes.items():
            if name not in f or not hasattr(f[name], "shape"):
                failures.append(f"{name}: missing")
                print(f"FAIL  {name}: dataset missing (expected shape {shape})")
                continue
            ds = f[name]
            if tuple(ds.shape) != shape:
                failures.append(f"{name}: shape {tuple(ds.shape)} != {shape}")
                print(f"FAIL  {name}: shape {tuple(ds.shape)}, expected {shape}")
                continue
            if ds.dtype != np.float64:
                if name == "epoch" and np.issubdtype(ds.dtype, np.number):
                    print(f"NOTE  epoch: dtype {ds.dtype} (section 3 says float64 unless said otherwise)")
                else:
                    failures.append(f"{name}: dtype {ds.dtype} != float64")
                    print(f"FAIL  {name}: dtype {ds.dtype}, expected float64")
            present[name] = np.asarray(ds[()], dtype=np.float64)

        # 2. values
        mode = cfg.get("data", {}).get("mode", "expected")
        if mode != "expected":
            print(f"NOTE  data.mode = {mode!r}: value checks skipped (only shapes checked)")
        else:
            ref = COMPUTE[kind](cfg)
            for name in shapes:
                if name not in present:
                    continue
                d = max_abs_diff(present[name], ref[name])
                ok = d <= tol
                print(f"{'PASS' if ok else 'FAIL'}  {name:32s} shape {str(present[name].shape):10s} max|diff| = {d:.3e}")
                if not ok:
                    failures.append(f"{name}: max abs diff {d:.3e} > tol {tol:g}")
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s):")
        for msg in failures:
            print(f"  - {msg}")
        return 1
    print("\nALL PASS")
    return 0


# --------------------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------------------


def finite_diff_grad(fn, theta, h=1e-6):
    g = np.zeros_like(theta)
    for k in range(len(theta)):
        e = np.zeros_like(theta)
        e[k] = h
        g[k] = (fn(theta + e) - fn(theta - e)) / (2 * h)
    return g


ALL_METHODS = [
    Method("dpo"),
    Method("ipo"),
    Method("fdpo", "reverse_kl"),
    Method("fdpo", "forward_kl"),
    Method("fdpo", "js"),
    Method("fdpo", "alpha", 0.5),
    Method("fdpo", "alpha", 0.2),
]


def ipo_exact_optimum(bandit: Bandit) -> np.ndarray:
    """Unconstrained minimiser of the expected IPO loss: with x = log(pi/pi_ref) the loss
    sum W[w,l] (x_w - x_l - 1/(2 beta))^2 is a quadratic; solve the weighted least squares."""
    K, c = bandit.K, 1.0 / (2.0 * bandit.beta)
    rows, rhs = [], []
    for w in range(K):
        for l in range(K):
            if w != l and bandit.W[w, l] > 0:
                s = math.sqrt(bandit.W[w, l])
                row = np.zeros(K)
                row[w], row[l] = s, -s
                rows.append(row)
                rhs.append(s * c)
    x = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return softmax(bandit.log_pi_ref + x)


def rlhf_closed_form(bandit: Bandit, r: np.ndarray, div: Divergence) -> np.ndarray:
    """Unconstrained minimiser of -sum pi r + beta D_f(pi || pi_ref) on the simplex:
    f'(pi_k / pi_ref_k) = (r_k - mu) / beta, mu fixed by sum pi = 1 (1-D root find)."""
    from scipy.optimize import brentq

    if div.name == "reverse_kl":  # eq. (4): pi = pi_ref exp(r / beta) / Z
        return softmax(bandit.log_pi_ref + r / bandit.beta)

    def u_of(y):  # inverse of f'
        if div.name == "forward_kl":
            return -1.0 / y
        if div.name == "js":
            e = np.exp(y)
            return e / (2.0 - e)
        if div.name == "alpha":
            return (1.0 - div.a * y) ** (-1.0 / div.a)
        raise ValueError(div.name)

    ysup = {"forward_kl": 0.0, "js": math.log(2.0), "alpha": 1.0 / (div.a or 1.0)}[div.name]
    lo = np.max(r) - bandit.beta * ysup  # y_k < ysup for all k  <=>  mu > lo
    span = abs(lo) + 1.0

    def excess(mu):
        return float(np.sum(bandit.pi_ref * u_of((r - mu) / bandit.beta)) - 1.0)

    a_, b_ = lo + 1e-12 * span, lo + span
    while excess(b_) > 0:
        b_ = lo + 2 * (b_ - lo)
    eps = 1e-12 * span
    while excess(a_) < 0:
        eps /= 10
        a_ = lo + eps
    mu = brentq(excess, a_, b_, xtol=1e-15, rtol=1e-15, maxiter=500)
    pi = bandit.pi_ref * u_of((r - mu) / bandit.beta)
    return pi / pi.sum()


def _write_h5(path, cfg_text, data, kind, experiment):
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["experiment"] = experiment
        f.attrs["kind"] = kind
        f.attrs["config_toml"] = cfg_text
        f.attrs["backend"] = "oracle"
        f.attrs["dtype"] = "f64"
        f.attrs["workbench_version"] = "oracle"
        f.attrs["created_utc"] = "1970-01-01T00:00:00Z"
        for k, v in data.items():
            f.create_dataset(k, data=np.asarray(v, dtype=np.float64))


FIG2_TOML = """
name = "fig2_weight_decay"
kind = "weight_decay_sweep"
distance = "l2"
[bandit]
pi_star = [0.6, 0.3, 0.1]
pi_ref = [0.4, 0.4, 0.2]
beta = 1.0
reward_floor = 1e-12
[policy]
name = "softmax"
init = "log_pi_ref"
[data]
mode = "expected"
pairs = "uniform"
n_pairs = 300
seed = 0
batch_size = 0
[optimizer]
name = "adam"
lr = 0.01
betas = [0.9, 0.999]
eps = 1e-8
epochs = 1000
[[methods]]
loss = "dpo"
[[methods]]
loss = "fdpo"
divergence = "forward_kl"
[[methods]]
loss = "ipo"
[constraints.weight_decay]
alpha = [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
"""


def selftest() -> int:
    rng = np.random.default_rng(12345)
    bad = []

    def report(ok, msg):
        print(f"{'ok  ' if ok else 'FAIL'}  {msg}")
        if not ok:
            bad.append(msg)

    print("== 1. analytic gradients vs central finite differences (h = 1e-6) ==")
    worst = 0.0
    for pairs in ("uniform", "reference"):
        for beta in (0.5, 1.0, 2.0):
            b = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], beta, 1e-12, pairs)
            b4 = Bandit([0.5, 0.25, 0.15, 0.1], [0.1, 0.2, 0.3, 0.4], beta, 1e-12, pairs)
            for bb in (b, b4):
                for meth in ALL_METHODS:
                    for alpha in (0.0, 0.3):
                        for _ in range(3):
                            th = rng.normal(size=bb.K)
                            for label, fn in (("method", method_loss_grad), ("counterpart", counterpart_loss_grad)):
                                ga = fn(th, meth, bb, alpha)[1]
                                gn = finite_diff_grad(lambda t: fn(t, meth, bb, alpha)[0], th)
                                err = np.max(np.abs(ga - gn)) / max(1.0, np.max(np.abs(gn)))
                                worst = max(worst, err)
                                if err > 1e-6:
                                    report(False, f"grad {label} {meth.name} {pairs} beta={beta} K={bb.K} alpha={alpha}: rel err {err:.2e}")
    report(worst < 1e-6, f"all gradients (7 methods and their counterparts x 2 pair modes x 3 beta x K in {{3,4}} x alpha in {{0,0.3}}): worst rel err {worst:.2e}")

    print("== 2. loss identities ==")
    b = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], 1.0)
    th = rng.normal(size=3)
    d = abs(method_loss_grad(th, Method("dpo"), b)[0] - method_loss_grad(th, Method("fdpo", "reverse_kl"), b)[0])
    report(d < 1e-14, f"fdpo reverse_kl loss == dpo loss (|diff| = {d:.1e})")
    pi = softmax(th)
    lc = counterpart_loss_grad(th, Method("fdpo", "forward_kl"), b)[0]
    direct = -pi @ np.log(b.pi_star) + b.beta * _kl(b.pi_ref, pi)
    report(abs(lc - direct) < 1e-13, f"forward_kl counterpart D_f == KL(pi_ref || pi) (|diff| = {abs(lc - direct):.1e})")
    lc = counterpart_loss_grad(th, Method("fdpo", "js"), b)[0]
    M = 0.5 * (pi + b.pi_ref)
    direct = -pi @ np.log(b.pi_star) + b.beta * 2.0 * (0.5 * _kl(pi, M) + 0.5 * _kl(b.pi_ref, M))
    report(abs(lc - direct) < 1e-13, f"js counterpart D_f == 2 JS(pi, pi_ref) (|diff| = {abs(lc - direct):.1e})")
    # expected loss equals the brute-force expectation over draws (uniform / reference)
    for pairs in ("uniform", "reference"):
        bb = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], 1.0, 1e-12, pairs)
        P = preference_matrix(bb.pi_star)
        x = log_softmax(th) - bb.log_pi_ref
        tot = 0.0
        if pairs == "uniform":
            prs = [(i, j, 1.0 / 3.0) for i in range(3) for j in range(i + 1, 3)]
        else:
            prs = [(i, j, bb.pi_ref[i] * bb.pi_ref[j]) for i in range(3) for j in range(3)]
        for i, j, pr in prs:
            tot += pr * (P[i, j] * softplus(-(x[i] - x[j])) + P[j, i] * softplus(-(x[j] - x[i])))
        d = abs(tot - method_loss_grad(th, Method("dpo"), bb)[0])
        report(d < 1e-14, f"expected dpo loss ({pairs}) == brute-force expectation over draws (|diff| = {d:.1e})")

    print("== 3. Adam: first step moves every coordinate by lr * sign(g) (mhat/sqrt(vhat) = sign g) ==")
    th0 = np.log(b.pi_ref)
    g0 = method_loss_grad(th0, Method("dpo"), b)[1]
    th1 = adam_train(lambda t: method_loss_grad(t, Method("dpo"), b)[1], th0, AdamConfig(), 1)
    step = th0 - th1
    expect = 0.01 * g0 / (np.abs(g0) + 1e-8)
    report(np.max(np.abs(step - expect)) < 1e-15, f"first step {step} vs {expect}")

    print("== 4. distances vs scipy ==")
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    p, q = softmax(rng.normal(size=4)), softmax(rng.normal(size=4))
    e1 = abs(distance("kl", p, q) - entropy(q, p))
    e2 = abs(distance("js", p, q) - jensenshannon(p, q) ** 2)
    report(e1 < 1e-14 and e2 < 1e-14, f"kl(c||m) vs scipy entropy |diff| {e1:.1e}; js vs scipy jensenshannon^2 |diff| {e2:.1e}")

    print("== 5. unconstrained dpo optimum pi = pi_ref pi*^(1/beta) / Z ==")
    for beta in (0.5, 1.0, 2.0):
        for pairs in ("uniform", "reference"):
            bb = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], beta, 1e-12, pairs)
            target = bb.pi_ref * bb.pi_star ** (1.0 / beta)
            target /= target.sum()
            gnorm = np.max(np.abs(method_loss_grad(np.log(target), Method("dpo"), bb)[1]))
            gcnorm = np.max(np.abs(counterpart_loss_grad(np.log(target), Method("dpo"), bb)[1]))
            tr = adam_train(lambda t: method_loss_grad(t, Method("dpo"), bb)[1], np.log(bb.pi_ref),
                            AdamConfig(lr=0.01), 20000, record=True)
            d = {e: np.linalg.norm(softmax(tr[e]) - target) for e in (1000, 3000, 20000)}
            report(gnorm < 1e-14 and gcnorm < 1e-14 and d[3000] < 1e-8,
                   f"beta={beta} {pairs:9s}: target {np.round(target, 6)}; |grad dpo| there {gnorm:.1e}, "
                   f"|grad rlhf| {gcnorm:.1e}; Adam L2 to target after 1000 / 3000 / 20000 steps: "
                   f"{d[1000]:.1e} / {d[3000]:.1e} / {d[20000]:.1e}")
    print("      note: with constant lr, Adam's effective step near a converged point is lr/eps = 1e6 times the\n"
          "      gradient once v has decayed, so after many thousand steps round-off is amplified again\n"
          "      (the 20000-step column); this is Adam's behaviour, not a gradient error. 1000 epochs are unaffected.")

    print("== 6. method and counterpart share the unconstrained minimiser (fdpo) ==")
    for meth in ALL_METHODS:
        if meth.loss != "fdpo":
            continue
        for pairs in ("uniform", "reference"):
            for beta in (0.5, 1.0, 2.0):
                bb = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], beta, 1e-12, pairs)
                pc = rlhf_closed_form(bb, bb.r_star(), meth.div())
                gc = np.max(np.abs(counterpart_loss_grad(np.log(pc), meth, bb)[1]))
                gm = np.max(np.abs(method_loss_grad(np.log(pc), meth, bb)[1]))
                report(gc < 1e-12 and gm < 1e-12,
                       f"{meth.name + (f'(a={meth.a})' if meth.a else ''):18s} {pairs:9s} beta={beta}: RLHF optimum "
                       f"{np.round(pc, 6)}; |grad rlhf| {gc:.1e}, |grad method| {gm:.1e}")

    print("== 7. ipo vs its counterpart (beta = 1, pi* = [.6,.3,.1], pi_ref = [.4,.4,.2]) ==")
    ipo_l2 = {}
    for pairs in ("uniform", "reference"):
        bb = Bandit([0.6, 0.3, 0.1], [0.4, 0.4, 0.2], 1.0, 1e-12, pairs)
        p_ipo = ipo_exact_optimum(bb)
        p_rl = rlhf_closed_form(bb, bb.r_ipo(), KL)
        gi = np.max(np.abs(method_loss_grad(np.log(p_ipo), Method("ipo"), bb)[1]))
        gr = np.max(np.abs(counterpart_loss_grad(np.log(p_rl), Method("ipo"), bb)[1]))
        tm, tc = train_pair(Method("ipo"), bb, np.log(bb.pi_ref), AdamConfig(), 1000, 0.0)
        d_exact = np.linalg.norm(p_ipo - p_rl)
        d_adam = np.linalg.norm(softmax(tm) - softmax(tc))
        ipo_l2[pairs] = d_exact
        print(f"      {pairs:9s}: IPO optimum {np.round(p_ipo, 6)} (|grad| {gi:.1e}), "
              f"RLHF(r_IPO) optimum {np.round(p_rl, 6)} (|grad| {gr:.1e})")
        print(f"      {pairs:9s}: exact L2 distance {d_exact:.4e}; after 1000 Adam epochs (lr 0.01) {d_adam:.4e}")
    u = ipo_l2["uniform"]
    report(abs(u - 2.4e-3) < 0.1e-3, f"uniform pairs: L2 {u:.4e} (spec: about 2.4e-3)")
    report(ipo_l2["reference"] < 1e-12, f"reference pairs: L2 {ipo_l2['reference']:.1e} (spec: exact agreement)")

    print("== 8. the checker on files written by this oracle (fig2 default config, fig3 short) ==")
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg2 = tomllib.loads(FIG2_TOML)
        data2 = compute_weight_decay_sweep(cfg2)
        for m in ("dpo", "fdpo_forward_kl", "ipo"):
            print(f"      fig2 {m:16s} distance_l2 over alpha: " + " ".join(f"{v:.2e}" for v in data2[f"{m}/distance_l2"]))
        p2 = os.path.join(tmp, "fig2.h5")
        _write_h5(p2, FIG2_TOML, data2, "weight_decay_sweep", "fig2_weight_decay")
        fig3_toml = (FIG2_TOML.replace('kind = "weight_decay_sweep"', 'kind = "early_stopping"')
                     .replace('name = "fig2_weight_decay"', 'name = "fig3_early_stopping"')
                     .replace("epochs = 1000", "epochs = 200")
                     .replace("alpha = [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]", "alpha = 0.0"))
        cfg3 = tomllib.loads(fig3_toml)
        data3 = compute_early_stopping(cfg3)
        p3 = os.path.join(tmp, "fig3.h5")
        _write_h5(p3, fig3_toml, data3, "early_stopping", "fig3_early_stopping")
        import contextlib
        import io

        def quiet(fn, *a):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rc = fn(*a)
            return rc, buf.getvalue()

        rc2, _ = quiet(check_file, p2)
        rc3, _ = quiet(check_file, p3)
        report(rc2 == 0 and rc3 == 0, f"oracle-written fig2 / fig3 files pass (rc {rc2}, {rc3})")
        bad2 = dict(data2)
        bad2["ipo/policy"] = data2["ipo/policy"] + 2e-3
        _write_h5(p2, FIG2_TOML, bad2, "weight_decay_sweep", "fig2_weight_decay")
        rc, out = quiet(check_file, p2)
        report(rc == 1 and "ipo/policy: max abs diff" in out, f"perturbed ipo/policy (+2e-3) is caught (rc {rc})")
        bad3 = {k: v for k, v in data3.items() if k != "dpo/distance_converged"}
        _write_h5(p3, fig3_toml, bad3, "early_stopping", "fig3_early_stopping")
        rc, out = quiet(check_file, p3)
        report(rc == 1 and "dpo/distance_converged: missing" in out, f"missing dpo/distance_converged is caught (rc {rc})")
        d3 = data3["dpo/distance"]
        print(f"      fig3 (200 epochs) dpo same-budget distance: e=0 {d3[0]:.2e}, max {d3.max():.2e} at e={int(d3.argmax())}, "
              f"e=200 {d3[-1]:.2e}; converged reading e=0 {data3['dpo/distance_converged'][0]:.2e}")

    print()
    if bad:
        print(f"SELFTEST FAILED ({len(bad)}):")
        for m in bad:
            print(f"  - {m}")
        return 1
    print("SELFTEST PASSED")
    return 0


# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="check a workbench HDF5 results file against the oracle")
    c.add_argument("file")
    c.add_argument("--tol", type=float, default=1e-3, help="max abs difference allowed (default 1e-3)")
    sub.add_parser("selftest", help="run the oracle's own checks")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        import os

        if not os.path.isfile(args.file):
            print(f"FAIL  {args.file}: no such file")
            return 1
        return check_file(args.file, args.tol)
    return selftest()


if __name__ == "__main__":
    sys.exit(main())
