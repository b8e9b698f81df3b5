"""Reads the tables `workbench export` wrote with pandas (CSV and Parquet) and compares
every column with the results file's dataset read by h5py.

usage: export_tables.py RESULTS_DIR CSV_DIR PARQUET_DIR
For each RESULTS_DIR/*.h5: each table the file declares (its `tables` attribute) has one
column per dataset, named by its path below the columns' common group, with the values
exactly (Int64 for `step`, float64 for numbers, strings for text); every other 1-D
dataset and every scalar is in some table, and every dataset of two or more axes is a long
table (`axis0`, `axis1`, ..., `value`) that rebuilds it. Prints one line per file checked.
"""
import glob, os, sys, tomllib

import h5py
import numpy as np
import pandas as pd

results, csv_dir, parquet_dir = sys.argv[1:4]


def common_group(paths):
    parts = [p.split("/")[:-1] for p in paths]
    common = parts[0]
    for p in parts[1:]:
        k = 0
        while k < min(len(common), len(p)) and common[k] == p[k]:
            k += 1
        common = common[:k]
    return "".join(g + "/" for g in common)


def same(frame, column, values, where):
    got = frame[column]
    if values.dtype.kind in "OSU":
        want = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
        got = ["" if (isinstance(g, float) and np.isnan(g)) else str(g) for g in got]
        assert got == want, (where, column)
        return
    want = np.asarray(values, dtype=float)
    got = got.to_numpy(dtype=float)
    assert got.shape == want.shape, (where, column, got.shape, want.shape)
    assert np.array_equal(got, want, equal_nan=True), (where, column, got[:3], want[:3])


checked = 0
for path in sorted(glob.glob(os.path.join(results, "*.h5"))):
    stem = os.path.basename(path)[:-3]
    f = h5py.File(path, "r")
    declared = tomllib.loads(f.attrs["tables"]) if "tables" in f.attrs else {}
    covered = set()
    for name, columns in declared.items():
        prefix = common_group(columns)
        for fmt, folder in [("csv", csv_dir), ("parquet", parquet_dir)]:
            table = os.path.join(folder, f"{stem}.{name}.{fmt}")
            frame = pd.read_csv(table, keep_default_na=False, na_values=[""]) if fmt == "csv" else pd.read_parquet(table)
            assert list(frame.columns) == [c[len(prefix):] for c in columns], (table, list(frame.columns))
            for c in columns:
                same(frame, c[len(prefix):], f[c][()], table)
            if fmt == "parquet":
                for c in columns:
                    kind = str(frame[c[len(prefix):]].dtype)
                    if c.split("/")[-1] == "step":
                        assert kind == "int64", (table, c, kind)
                    elif f[c].dtype.kind == "f":
                        assert kind == "float64", (table, c, kind)
        covered.update(columns)
    # Everything else is exported too: 1-D datasets in tables of their group, scalars in
    # `scalars`.
    rest = []
    f.visititems(lambda n, o: rest.append(n) if isinstance(o, h5py.Dataset) and n not in covered else None)
    scalars = [n for n in rest if f[n].shape in ((), (1,)) and f[n].dtype.kind in "fiu"]
    if scalars:
        frame = pd.read_parquet(os.path.join(parquet_dir, f"{stem}.scalars.parquet"))
        table = dict(zip(frame["name"], frame["value"]))
        for n in scalars:
            want = float(np.asarray(f[n][()]).reshape(-1)[0])
            assert table[n] == want or (np.isnan(want) and np.isnan(table[n])), (stem, n)
    vectors = [n for n in rest if len(f[n].shape) == 1 and n not in scalars]
    exported = {}
    for table in glob.glob(os.path.join(parquet_dir, f"{stem}.*.parquet")):
        exported[table] = pd.read_parquet(table)
    for n in vectors:
        group, _, col = n.rpartition("/")
        base = group.replace("/", ".") or "root"
        candidates = [t for t in exported if os.path.basename(t) == f"{stem}.{base}.parquet"
                      or os.path.basename(t) == f"{stem}.{base}.n{f[n].shape[0]}.parquet"]
        assert len(candidates) == 1, (stem, n, candidates)
        same(exported[candidates[0]], col, f[n][()], candidates[0])
    arrays = [n for n in rest if len(f[n].shape) >= 2]
    for n in arrays:
        frame = pd.read_parquet(os.path.join(parquet_dir, f"{stem}.{n.replace('/', '.')}.parquet"))
        shape = f[n].shape
        axes = [f"axis{k}" for k in range(len(shape))]
        assert list(frame.columns) == axes + ["value"], (n, list(frame.columns))
        assert all(str(frame[a].dtype) == "int64" for a in axes), n
        rebuilt = np.full(shape, np.nan)
        rebuilt[tuple(frame[a].to_numpy() for a in axes)] = frame["value"].to_numpy()
        assert np.array_equal(rebuilt, f[n][()], equal_nan=True), n
    checked += 1
    print("ok", stem, len(declared), "declared tables,", len(vectors), "other vectors,", len(scalars), "scalars,", len(arrays), "arrays")
assert checked > 0
