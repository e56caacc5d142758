#!/usr/bin/python3
"""The Python side of `vae bench ingest`: read a CSV with pandas and
preprocess it with scikit-learn as a model's input, as `vae train` does with
its own reader: numeric columns standardised (StandardScaler), text columns
one-hot encoded (OneHotEncoder), missing values left to the transformers.
Prints one JSON line: rows, seconds (best of --repeat) and the versions.

    /usr/bin/python3 scripts/ingest_pandas.py FILE.csv [--repeat 3]

Debian: python3-pandas, python3-sklearn.
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def ingest(path):
    df = pd.read_csv(path)
    num = df.select_dtypes(include="number")
    cat = df.select_dtypes(exclude="number")
    parts = [StandardScaler().fit_transform(num.to_numpy(dtype=np.float64)).astype(np.float32)]
    if cat.shape[1]:
        parts.append(OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32).fit_transform(cat))
    x = np.hstack(parts)
    return len(df), x.shape[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    best = float("inf")
    for _ in range(a.repeat):
        t = time.perf_counter()
        rows, width = ingest(a.path)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"rows": rows, "width": width, "seconds": best,
                      "pandas": pd.__version__, "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
