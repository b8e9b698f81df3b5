"""Recomputes a sequence_dpo results file's length-adjusted analysis and effect sizes from
its stored per-pair data, independently of the workbench:

* OLS of ln (21) on ln rho_ref, the scored length difference, the cut flags, pi_ref's mean
  per-token log-probability and the scored prompt length, with HC3 standard errors and
  normal 95 % intervals: statsmodels' OLS(...).fit(cov_type="HC3");
* mean ln (21) and ln rho_ref by decile of ln rho_ref (numpy percentiles);
* van Elteren's test of the low against the high group within quintiles of the scored
  length difference, ranks by scipy.stats.rankdata;
* AUC = U1/(n1 n2) from scipy.stats.mannwhitneyu, the rank-biserial correlation and their
  Hanley-McNeil intervals.

    python3 adjusted.py RESULTS.h5

Every value must agree with the file to 1e-9 (relative to max(1, |value|)). Prints "ok".
"""

import sys

import h5py
import numpy as np
import statsmodels.api as sm
from scipy import stats

f = h5py.File(sys.argv[1], "r")
TOL = 1e-9


def close(name, got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    bad = np.abs(got - want) > TOL * np.maximum(1.0, np.abs(want))
    assert not bad.any(), (name, got[bad], want[bad])


rho = f["log_rho_ref/all"][:]
change = f["log_ratio_change/all"][:]
chosen, rejected = f["lengths/scored_chosen"][:], f["lengths/scored_rejected"][:]
prompt = f["lengths/scored_prompt"][:]
cut_c, cut_r = f["lengths/cut_chosen"][:], f["lengths/cut_rejected"][:]
on_eval = f.attrs["analysis_pairs"].startswith("eval")
ref = "eval/reference/" if on_eval else "reference/"
ref_c, ref_r = f[ref + "log_prob_chosen"][:], f[ref + "log_prob_rejected"][:]
per_token = (ref_c + ref_r) / np.maximum(chosen + rejected, 1.0)
close("per-token reference", f["regression/reference_log_prob_per_token"][:], per_token)

# --- OLS with HC3 ---------------------------------------------------------------------
candidates = [
    ("log_rho_ref", rho),
    ("scored_length_diff", chosen - rejected),
    ("cut_chosen", cut_c),
    ("cut_rejected", cut_r),
    ("reference_log_prob_per_token", per_token),
    ("prompt_length", prompt),
]
kept = [(n, v) for n, v in candidates if np.ptp(v) > 0]
names = ["const"] + [n for n, _ in kept]
assert f.attrs["regression_columns"] == ", ".join(names), (f.attrs["regression_columns"], names)
X = np.column_stack([np.ones_like(rho)] + [v for _, v in kept])
fit = sm.OLS(change, X).fit(cov_type="HC3")
close("coefficients", f["regression/coefficients"][:], fit.params)
close("hc3_se", f["regression/hc3_se"][:], fit.bse)
ci = fit.conf_int(alpha=0.05)
close("ci_low", f["regression/ci_low"][:], ci[:, 0])
close("ci_high", f["regression/ci_high"][:], ci[:, 1])
close("r_squared", f["regression/r_squared"][()], fit.rsquared)
close("rho coefficient summary", f["summary/log_rho_coefficient"][()], fit.params[1])
close("rho coefficient ci", [f["summary/log_rho_coefficient_ci_low"][()],
                             f["summary/log_rho_coefficient_ci_high"][()]], ci[1])


# --- deciles ----------------------------------------------------------------------------
def bins(values, k):
    edges = np.percentile(values, [100.0 * j / k for j in range(1, k)])
    return (values[:, None] > edges[None, :]).sum(axis=1)


d = bins(rho, 10)
count = np.bincount(d, minlength=10).astype(float)
with np.errstate(invalid="ignore"):
    close("decile counts", f["deciles/count"][:], count)
    mean = lambda v: np.where(count > 0, np.bincount(d, v, 10) / np.maximum(count, 1), 0.0)
    close("decile rho", f["deciles/log_rho_ref_mean"][:], mean(rho))
    close("decile change", f["deciles/log_ratio_change_mean"][:], mean(change))

# --- van Elteren --------------------------------------------------------------------------
low = rho < f["groups/low_threshold"][()]
high = rho > f["groups/high_threshold"][()]
strata = bins(chosen - rejected, 5)
T = E = V = 0.0
used = 0
for k in np.unique(strata):
    members = (strata == k) & (low | high)
    n, m = int((members & low).sum()), int((members & high).sum())
    if n == 0 or m == 0:
        continue
    values = change[members]
    ranks = stats.rankdata(values)
    w = ranks[low[members]].sum()
    N = n + m
    _, t = np.unique(values, return_counts=True)
    ties = float((t**3 - t).sum())
    T += w / (N + 1)
    E += n / 2.0
    V += n * m / (12.0 * (N + 1) ** 2) * ((N + 1) - ties / (N * (N - 1)))
    used += 1
if used == 0:
    # No stratum of the length difference holds pairs of both groups: the groups are
    # length groups, and the file says the test could not be computed.
    assert "van_elteren/z" not in f, "a van Elteren z without a stratum of both groups"
    assert "no stratum" in f.attrs["van_elteren"], f.attrs.get("van_elteren")
else:
    z = (T - E) / np.sqrt(V)
    close("van Elteren z", f["van_elteren/z"][()], z)
    close("van Elteren p", f["van_elteren/p_lower"][()], stats.norm.cdf(z))
    close("van Elteren strata", f["van_elteren/strata"][()], used)

# --- effect sizes ---------------------------------------------------------------------------
a, b = change[low], change[high]
u1 = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").statistic
auc = u1 / (len(a) * len(b))
q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
se = np.sqrt((auc * (1 - auc) + (len(a) - 1) * (q1 - auc**2) + (len(b) - 1) * (q2 - auc**2))
             / (len(a) * len(b)))
zq = stats.norm.ppf(0.975)
lo, hi = max(auc - zq * se, 0.0), min(auc + zq * se, 1.0)
close("auc", f["summary/auc"][()], auc)
close("auc ci", [f["summary/auc_ci_low"][()], f["summary/auc_ci_high"][()]], [lo, hi])
close("rank-biserial", f["summary/rank_biserial"][()], 2 * auc - 1)
close("rank-biserial ci", [f["summary/rank_biserial_ci_low"][()],
                           f["summary/rank_biserial_ci_high"][()]], [2 * lo - 1, 2 * hi - 1])
print(f"ok ({used} van Elteren strata)")
