#!/usr/bin/env python3
"""Independent scipy oracle for average rank sorting and the one-sided Mann-Whitney U test
(Section 5.3, App. B.3, Table 2).

Written from the paper (Kong, Hu, He and Wipf) and scipy's documentation;
it recomputes with scipy.stats.rankdata / mannwhitneyu rather than re-deriving the Rust
code.  numpy / scipy, Python 3.

Usage
-----
    python3 tests/oracle/rank_oracle.py check FILE.json
    python3 tests/oracle/rank_oracle.py selftest

`check` reads {"cases": [{"group1", "group2", "tie_correction", "ranks1", "ranks2", "u",
"u1", "z", "p_value"}, ...], "tol": 1e-9} and, for every case, recomputes:

* ranks1 / ranks2: scipy.stats.rankdata(group1 + group2, method='average'), split;
* u1: scipy.stats.mannwhitneyu(group1, group2).statistic (scipy's U is U1 = R1 -
  n1(n1+1)/2, the count of pairs where the group-1 value is larger, ties 1/2);
  u = min(u1, n1 n2 - u1);
* z = (u - n1 n2/2) / sigma, sigma from eq. (30), or with the tie correction
  sigma^2 = n1 n2/12 [(n+1) - sum(t^3 - t)/(n(n-1))] when tie_correction is true;
* p_value = Phi(z).  When scipy's p applies (tie_correction true, or no ties: scipy always
  applies the tie correction) it is ALSO compared with
  mannwhitneyu(x, y, alternative='less', use_continuity=False, method='asymptotic').pvalue,
  x the group with the smaller mean rank (= the smaller U; with unequal sizes this need
  not be the smaller rank SUM).

Tolerances: |got - want| <= tol * max(1, |want|) for ranks, u, u1, z; p_value relative,
|got - want| <= tol * |want|, since p spans hundreds of orders of magnitude.  Prints one
line per mismatch and exits 1, else prints "ok N cases" and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from scipy import stats


def expected(g1: np.ndarray, g2: np.ndarray, tie_correction: bool) -> dict:
    """Every checked quantity for one case, from scipy (and numpy for z)."""
    n1, n2 = len(g1), len(g2)
    n = n1 + n2
    combined = np.concatenate([g1, g2])
    ranks = stats.rankdata(combined, method="average")
    r1, r2 = ranks[:n1].sum(), ranks[n1:].sum()
    u1 = float(stats.mannwhitneyu(g1, g2, method="asymptotic").statistic)
    u = min(u1, n1 * n2 - u1)
    _, counts = np.unique(combined, return_counts=True)
    counts = counts.astype(np.float64)
    tie_term = float(np.sum(counts**3 - counts)) if tie_correction else 0.0
    sigma = np.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (u - n1 * n2 / 2.0) / sigma
    out = {
        "ranks1": ranks[:n1],
        "ranks2": ranks[n1:],
        "u1": u1,
        "u": u,
        "z": z,
        "p_value": float(stats.norm.cdf(z)),
    }
    if tie_correction or np.all(counts == 1):
        x, y = (g1, g2) if r1 / n1 <= r2 / n2 else (g2, g1)
        out["p_value_scipy"] = float(
            stats.mannwhitneyu(
                x, y, alternative="less", use_continuity=False, method="asymptotic"
            ).pvalue
        )
    return out


def mismatches(case: dict, tol: float) -> list[str]:
    """Lines describing each quantity of `case` that disagrees with the oracle."""
    g1 = np.asarray(case["group1"], dtype=np.float64)
    g2 = np.asarray(case["group2"], dtype=np.float64)
    want = expected(g1, g2, bool(case["tie_correction"]))
    bad = []

    def absolute(name, got, ref):
        got = np.asarray(got, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        if got.shape != ref.shape:
            bad.append(f"{name}: shape {got.shape}, oracle {ref.shape}")
            return
        err = np.abs(got - ref) / np.maximum(1.0, np.abs(ref))
        if not np.all(err <= tol):
            i = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
            bad.append(f"{name}: got {float(got.ravel()[i])!r}, oracle {float(ref.ravel()[i])!r} "
                       f"(index {i}, scaled diff {err.ravel()[i]:.3e} > {tol:g})")

    def relative(name, got, ref):
        if not abs(got - ref) <= tol * abs(ref):
            bad.append(f"{name}: got {got!r}, oracle {ref!r} "
                       f"(relative diff {abs(got - ref) / abs(ref):.3e} > {tol:g})")

    for key in ("ranks1", "ranks2", "u1", "u", "z"):
        absolute(key, case[key], want[key])
    relative("p_value", float(case["p_value"]), want["p_value"])
    if "p_value_scipy" in want:
        relative("p_value vs scipy mannwhitneyu", float(case["p_value"]), want["p_value_scipy"])
    return bad


def check_file(path: str) -> int:
    with open(path) as f:
        doc = json.load(f)
    tol = float(doc.get("tol", 1e-9))
    cases = doc["cases"]
    failed = False
    for k, case in enumerate(cases):
        for line in mismatches(case, tol):
            failed = True
            print(f"case {k} (n1={len(case['group1'])}, n2={len(case['group2'])}, "
                  f"tie_correction={case['tie_correction']}): {line}")
    if failed:
        print(f"FAILED: {path} disagrees with the oracle")
        return 1
    print(f"ok {len(cases)} cases")
    return 0


def selftest() -> int:
    """Table 2 from its rank sums, and the scipy equivalence on a small tied sample."""
    n1 = n2 = 800
    r1 = 546_337
    u1 = r1 - n1 * (n1 + 1) / 2
    u = min(u1, n1 * n2 - u1)
    z = (u - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    p = float(stats.norm.cdf(z))
    print(f"Table 2: U = {u:.1f}, z = {z:.10f}, p = {p!r} (paper: 225937.0, 1.22e-24)")
    ok = u == 225_937 and abs(p / 1.22e-24 - 1) < 1e-2

    g1 = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]
    g2 = [2.0, 6.0, 5.0, 3.0, 5.0]
    want = expected(np.asarray(g1), np.asarray(g2), True)
    case = {"group1": g1, "group2": g2, "tie_correction": True,
            **{k: np.asarray(v).tolist() for k, v in want.items() if k != "p_value_scipy"}}
    ok &= not mismatches(case, 1e-12)
    ok &= abs(want["p_value"] - want["p_value_scipy"]) <= 1e-12 * want["p_value"]
    case["u"] += 1.0
    ok &= len(mismatches(case, 1e-12)) == 1
    print("SELFTEST " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="check one JSON file of cases")
    c.add_argument("file")
    sub.add_parser("selftest", help="Table 2 and a tied sample")
    a = ap.parse_args(argv)
    if a.cmd == "check":
        return check_file(a.file)
    return selftest()


if __name__ == "__main__":
    sys.exit(main())
