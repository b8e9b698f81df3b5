"""Checks that two results folders hold the same results, bitwise.

    python3 same_results.py EXPECTED ACTUAL NAME...

Each NAME is a results file stem: `NAME.h5` must exist in both folders with the same
datasets (bitwise, NaN equal to NaN) and the same root attributes, except those that say
when, or how fast and in how much memory, it ran. When `EXPECTED/NAME/` is a sweep's
folder, every point file in it is compared the same way. Prints one line per file;
exits 1 on the first difference.
"""

import glob
import os
import sys

import h5py
import numpy as np

# Attributes that measure the run, not its results; `reference_cache` says where pi_ref came
# from (a hit or a miss depends on which task came first; the results are bitwise the same).
MEASURED = {
    "created_utc",
    "peak_rss_bytes",
    "sft_tokens_per_second",
    "dpo_tokens_per_second",
    "reference_cache",
}


def datasets(f):
    out = {}
    f.visititems(lambda n, x: out.__setitem__(n, x[()]) if isinstance(x, h5py.Dataset) else None)
    return out


def equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OSU" or b.dtype.kind in "OSU":
        return a.shape == b.shape and all(x == y for x, y in zip(a.ravel(), b.ravel()))
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def same(expected, actual):
    with h5py.File(expected, "r") as e, h5py.File(actual, "r") as a:
        de, da = datasets(e), datasets(a)
        if set(de) != set(da):
            return f"datasets differ: only expected {sorted(set(de) - set(da))}, only actual {sorted(set(da) - set(de))}"
        for k in sorted(de):
            if not equal(de[k], da[k]):
                return f"dataset {k} differs"
        ae = {k: v for k, v in e.attrs.items() if k not in MEASURED}
        aa = {k: v for k, v in a.attrs.items() if k not in MEASURED}
        if set(ae) != set(aa):
            return f"attributes differ: {sorted(set(ae) ^ set(aa))}"
        for k in sorted(ae):
            if not equal(ae[k], aa[k]):
                return f"attribute {k} differs: {ae[k]!r} vs {aa[k]!r}"
        return None


def main():
    expected, actual, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name in names:
        pairs = [(os.path.join(expected, name + ".h5"), os.path.join(actual, name + ".h5"))]
        for point in sorted(glob.glob(os.path.join(expected, name, "point-*.h5"))):
            pairs.append((point, os.path.join(actual, name, os.path.basename(point))))
        for e, a in pairs:
            if not os.path.exists(a):
                print(f"{a}: missing")
                sys.exit(1)
            result = same(e, a)
            if result is not None:
                print(f"{a}: {result} (expected as in {e})")
                sys.exit(1)
        print(f"{name}: {len(pairs)} file(s) equal, bitwise")


if __name__ == "__main__":
    main()
