#!/usr/bin/env python3
"""PyTorch reference for nn.Conv2D and nn.ConvTranspose2D (the Go test TestConvMatchesPyTorch).

torch_conv.py DIR
    DIR/spec.json lists layers: {"Transpose", "N", "In", "Out", "KH", "KW",
    "Stride", "Pad": [top, bottom, left, right], "OutPad", "H", "W", "OutH",
    "OutW"}. For layer i the files DIR/i.x, i.w, i.b and i.dy hold the input
    [N, In, H, W], the weight (PyTorch's layout), the bias and the output
    gradient as raw little-endian float32. The script computes, in float64,
    y = F.conv2d or F.conv_transpose2d and, by autograd on sum(y·dy), the
    gradients, and writes i.y, i.dx, i.dw and i.db in the same format.

    Symmetric padding goes to PyTorch as padding (and output_padding).
    Asymmetric padding, TensorFlow's "same", is applied as TensorFlow
    defines it: the input zero-padded by F.pad, then no padding; for the
    transpose, the full output cropped (or zero-extended) by F.pad.

Needs only torch and the standard library.
"""
import array
import json
import os
import sys

import torch
import torch.nn.functional as F


def read(path, shape):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return torch.tensor(a.tolist(), dtype=torch.float64).reshape(shape)


def write(path, t):
    a = array.array("f", t.detach().flatten().tolist())
    if sys.byteorder != "little":
        a.byteswap()
    with open(path, "wb") as f:
        f.write(a.tobytes())


def main(d):
    with open(os.path.join(d, "spec.json")) as f:
        specs = json.load(f)
    for i, s in enumerate(specs):
        p = lambda name: os.path.join(d, f"{i}.{name}")
        n, cin, cout, kh, kw, st = s["N"], s["In"], s["Out"], s["KH"], s["KW"], s["Stride"]
        top, bottom, left, right = s["Pad"]
        symmetric = top == bottom == left == right
        wshape = (cin, cout, kh, kw) if s["Transpose"] else (cout, cin, kh, kw)
        x = read(p("x"), (n, cin, s["H"], s["W"])).requires_grad_()
        w = read(p("w"), wshape).requires_grad_()
        b = read(p("b"), (cout,)).requires_grad_()
        dy = read(p("dy"), (n, cout, s["OutH"], s["OutW"]))
        if not s["Transpose"]:
            if symmetric:
                y = F.conv2d(x, w, b, stride=st, padding=top)
            else:
                y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=st)
        elif symmetric:
            y = F.conv_transpose2d(x, w, b, stride=st, padding=top, output_padding=s["OutPad"])
        else:
            full = F.conv_transpose2d(x, w, None, stride=st)
            fh, fw = full.shape[2:]
            y = F.pad(full, (-left, s["OutW"] + left - fw, -top, s["OutH"] + top - fh)) + b.reshape(1, -1, 1, 1)
        assert y.shape == dy.shape, (i, y.shape, dy.shape)
        (y * dy).sum().backward()
        for name, t in (("y", y), ("dx", x.grad), ("dw", w.grad), ("db", b.grad)):
            write(p(name), t)


if __name__ == "__main__":
    main(sys.argv[1])
