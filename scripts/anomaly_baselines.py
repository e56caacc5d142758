#!/usr/bin/python3
"""Classic anomaly-detection baselines that `vae bench anomaly` prints beside
the VAE's own scores, on the standard one-class protocols.

Protocols (seeded, so the Go side can reproduce the same splits):

  mnist, fashion-mnist   one-class (Ruff et al. 2018, "Deep One-Class
                         Classification"): for each class c, fit on the
                         TRAINING images of class c only (pixels / 255,
                         flattened to 784), score the whole TEST set (10,000
                         images); anomalous (positive) = label != c.
  breast-cancer          sklearn.datasets.load_breast_cancer, benign = normal.
                         numpy.random.default_rng(seed).permutation of the
                         benign row indices; the first round(0.7 * n_benign)
                         are train, the remaining benign rows and all
                         malignant rows are test; anomalous = malignant.
                         Features are standardised with the training rows'
                         mean and (population) std. --bc-split writes the
                         split as CSV (id, split), id = 1-based row number in
                         load_breast_cancer order, as scripts/breast_cancer.py
                         numbers the rows.

Detectors (score: higher = more anomalous):

  knn5     mean Euclidean distance to the 5 nearest training points
           (NearestNeighbors(n_neighbors=5); brute force, batched, on images)
  iforest  IsolationForest(n_estimators=200, random_state=seed);
           score = -score_samples
  pca95    PCA(n_components=0.95); squared reconstruction error
  ocsvm    OneClassSVM(kernel='rbf', nu=0.1, gamma='scale');
           score = -decision_function; breast-cancer only (too slow on
           6,000 images), shown as "–" for the image benchmarks

Metrics: sklearn.metrics.roc_auc_score (AUROC) and average_precision_score
(AP), both with the anomalous class as positive.

Output: --json PATH ("-" for stdout) gets

  {"seed": 1,
   "versions": {"python": ..., "sklearn": ..., "numpy": ..., "scipy": ...},
   "results": [{"benchmark": "mnist" | "fashion-mnist" | "breast-cancer",
                "class": 0..9 | null,
                "detector": "knn5" | "iforest" | "pca95" | "ocsvm",
                "auroc": float, "ap": float, "seconds": float,
                "n_train": int, "n_test": int}, ...]}

("seconds" is fit + score time.) A human-readable table goes to stderr.

Run (Debian's python3 with python3-sklearn, python3-numpy, python3-pandas):

    /usr/bin/python3 scripts/anomaly_baselines.py \\
        --mnist ~/.cache/vae/mnist \\
        --fashion /usr/share/datasets/fashion-mnist \\
        --bc-split bc_split.csv --json baselines.json

Quick run: --classes 0,1 --detectors knn5,pca95. --mnist / --fashion may be
omitted (that benchmark is skipped); --no-breast-cancer skips the table.
"""
import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time

import numpy as np
import scipy
import sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM

DETECTORS = ("knn5", "iforest", "pca95", "ocsvm")
IMAGE_DETECTORS = ("knn5", "iforest", "pca95")  # ocsvm: too slow on images
KNN_BATCH = 1000  # test rows per kneighbors call on images


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def _open_idx(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                return f.read()
    raise FileNotFoundError(f"{stem}(.gz) not found in {folder}")


def read_idx(folder, stem):
    """Read one IDX file (ubyte data only) as a numpy array."""
    raw = _open_idx(folder, stem)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{stem}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(shape)


def load_images(folder):
    """(train_x, train_y, test_x, test_y); x float32 in [0, 1], shape [N, 784]."""
    out = []
    for split in ("train", "t10k"):
        x = read_idx(folder, f"{split}-images-idx3-ubyte")
        y = read_idx(folder, f"{split}-labels-idx1-ubyte")
        out += [x.reshape(len(x), -1).astype(np.float32) / 255.0, y.astype(np.int64)]
    return tuple(out)


def breast_cancer_split(seed):
    """Returns (x, is_malignant, train_idx, test_idx), 0-based row indices."""
    data = load_breast_cancer()
    x, benign = data.data, data.target == 1
    benign_idx = np.flatnonzero(benign)
    perm = np.random.default_rng(seed).permutation(benign_idx)
    n_train = int(round(0.7 * len(benign_idx)))
    train_idx = np.sort(perm[:n_train])
    test_idx = np.setdiff1d(np.arange(len(x)), train_idx)  # sorted
    return x, ~benign, train_idx, test_idx


def write_split(path, n_rows, train_idx):
    split = np.full(n_rows, "test", dtype=object)
    split[train_idx] = "train"
    with open(path, "w") as f:
        f.write("id,split\n")
        for i in range(n_rows):
            f.write(f"{i + 1},{split[i]}\n")


# ---------------------------------------------------------------- detectors

def score_knn(train, test, batch=None):
    nn = NearestNeighbors(n_neighbors=5, algorithm="brute" if batch else "auto")
    nn.fit(train)
    step = batch or len(test)
    scores = [nn.kneighbors(test[i:i + step])[0].mean(axis=1)
              for i in range(0, len(test), step)]
    return np.concatenate(scores)


def score_iforest(train, test, seed):
    model = IsolationForest(n_estimators=200, random_state=seed).fit(train)
    return -model.score_samples(test)


def score_pca(train, test):
    model = PCA(n_components=0.95).fit(train)
    recon = model.inverse_transform(model.transform(test))
    return ((np.asarray(test, dtype=np.float64) - recon) ** 2).sum(axis=1)


def score_ocsvm(train, test):
    model = OneClassSVM(kernel="rbf", nu=0.1, gamma="scale").fit(train)
    return -model.decision_function(test)


def run_detector(name, train, test, seed, images):
    if name == "knn5":
        return score_knn(train, test, KNN_BATCH if images else None)
    if name == "iforest":
        return score_iforest(train, test, seed)
    if name == "pca95":
        return score_pca(train, test)
    if name == "ocsvm":
        return score_ocsvm(train, test)
    raise ValueError(name)


def evaluate(benchmark, cls, detectors, train, test, anomalous, seed, images):
    results = []
    for det in detectors:
        t0 = time.perf_counter()
        scores = run_detector(det, train, test, seed, images)
        seconds = time.perf_counter() - t0
        res = {
            "benchmark": benchmark,
            "class": cls,
            "detector": det,
            "auroc": float(roc_auc_score(anomalous, scores)),
            "ap": float(average_precision_score(anomalous, scores)),
            "seconds": round(seconds, 3),
            "n_train": int(len(train)),
            "n_test": int(len(test)),
        }
        log(f"  {benchmark:<13} class {'-' if cls is None else cls:<2} {det:<8}"
            f" AUROC {res['auroc']:.4f}  AP {res['ap']:.4f}  {seconds:7.1f}s")
        results.append(res)
    return results


# ---------------------------------------------------------------- protocols

def run_images(benchmark, folder, classes, detectors, seed):
    train_x, train_y, test_x, test_y = load_images(folder)
    log(f"{benchmark}: {len(train_x)} train, {len(test_x)} test images from {folder}")
    results = []
    for c in classes:
        results += evaluate(benchmark, c, detectors, train_x[train_y == c],
                            test_x, test_y != c, seed, images=True)
    return results


def run_breast_cancer(detectors, seed, split_path):
    x, malignant, train_idx, test_idx = breast_cancer_split(seed)
    if split_path:
        write_split(split_path, len(x), train_idx)
        log(f"breast-cancer: split written to {split_path}")
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std
    log(f"breast-cancer: {len(train_idx)} benign train, {len(test_idx)} test "
        f"({int(malignant[test_idx].sum())} malignant)")
    return evaluate("breast-cancer", None, detectors, z[train_idx], z[test_idx],
                    malignant[test_idx], seed, images=False)


# ---------------------------------------------------------------- report

def print_table(results, detectors):
    benchmarks = list(dict.fromkeys(r["benchmark"] for r in results))
    for bench in benchmarks:
        rows = [r for r in results if r["benchmark"] == bench]
        auroc = {(r["class"], r["detector"]): r["auroc"] for r in rows}
        classes = list(dict.fromkeys(r["class"] for r in rows))
        log(f"\n{bench}: AUROC")
        log("  " + f"{'class':<6}" + "".join(f"{d:>9}" for d in detectors))

        def cell(vals):
            return f"{np.mean(vals):9.3f}" if vals else f"{'–':>9}"

        if classes != [None]:
            for c in classes:
                log("  " + f"{c:<6}" + "".join(
                    cell([auroc[(c, d)]] if (c, d) in auroc else []) for d in detectors))
        log("  " + f"{'mean':<6}" + "".join(
            cell([v for (c, d), v in auroc.items() if d == det]) for det in detectors))


def parse_list(text, allowed, kind):
    items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in allowed]
    if bad:
        sys.exit(f"unknown {kind}: {', '.join(bad)} (choose from {', '.join(allowed)})")
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", metavar="DIR", help="folder with the MNIST IDX files")
    ap.add_argument("--fashion", metavar="DIR", help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--no-breast-cancer", action="store_true", help="skip the breast-cancer table")
    ap.add_argument("--bc-split", metavar="PATH", help="write the breast-cancer split CSV here")
    ap.add_argument("--json", metavar="PATH", default="-", help="results JSON ('-' = stdout)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9",
                    help="image classes to run, e.g. 0,1")
    ap.add_argument("--detectors", default=",".join(DETECTORS),
                    help="subset of " + ",".join(DETECTORS))
    args = ap.parse_args()

    classes = [int(c) for c in parse_list(args.classes, [str(i) for i in range(10)], "class")]
    detectors = parse_list(args.detectors, DETECTORS, "detector")
    image_detectors = [d for d in detectors if d in IMAGE_DETECTORS]

    results = []
    for bench, folder, flag in (("mnist", args.mnist, "--mnist"),
                                ("fashion-mnist", args.fashion, "--fashion")):
        if not folder:
            log(f"{bench}: skipped (no {flag} DIR)")
            continue
        if "ocsvm" in detectors:
            log(f"{bench}: ocsvm not run on images (too slow)")
        results += run_images(bench, os.path.expanduser(folder), classes,
                              image_detectors, args.seed)
    if args.no_breast_cancer:
        log("breast-cancer: skipped (--no-breast-cancer)")
    else:
        results += run_breast_cancer(detectors, args.seed, args.bc_split)

    print_table(results, detectors)

    doc = {
        "seed": args.seed,
        "versions": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "results": results,
    }
    text = json.dumps(doc, indent=1) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    else:
        with open(args.json, "w") as f:
            f.write(text)
        log(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
