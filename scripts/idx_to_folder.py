#!/usr/bin/python3
"""Write an IDX image data set (MNIST, Fashion-MNIST) as an image folder in
torchvision's ImageFolder layout, one sub-folder per class, and the same
images, in the folder's sorted order, as a NumPy .npz (x: uint8 [N, H, W]
or [N, H, W, 3], y: labels): what `vae train --data FOLDER` and
`vae train --data FILE.npz` read, to check that both give the same model.

    /usr/bin/python3 scripts/idx_to_folder.py IMAGES.gz LABELS.gz OUT [--rgb] [--limit N]

--rgb writes colour PNGs (the gray value in each channel). Needs numpy and
PIL (Debian: python3-numpy, python3-pil).
"""
import argparse
import gzip
import os
import struct

import numpy as np
from PIL import Image


def read_idx(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("images")
    p.add_argument("labels")
    p.add_argument("out")
    p.add_argument("--rgb", action="store_true")
    p.add_argument("--limit", type=int, default=0)
    a = p.parse_args()
    x, y = read_idx(a.images), read_idx(a.labels)
    if a.limit:
        x, y = x[: a.limit], y[: a.limit]
    paths = []
    for i, (img, label) in enumerate(zip(x, y)):
        rel = f"{label}/{i:05d}.png"
        os.makedirs(os.path.join(a.out, str(label)), exist_ok=True)
        im = Image.fromarray(img, "L")
        if a.rgb:
            im = im.convert("RGB")
        im.save(os.path.join(a.out, rel))
        paths.append(rel)
    order = sorted(range(len(paths)), key=lambda i: paths[i])
    xs = x[order]
    if a.rgb:
        xs = np.repeat(xs[..., None], 3, axis=3)
    np.savez(a.out.rstrip("/") + ".npz", x=xs, y=y[order])


if __name__ == "__main__":
    main()
