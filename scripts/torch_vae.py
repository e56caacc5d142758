#!/usr/bin/env python3
"""Load a vae model file into PyTorch and check it against the Go encoder.

Builds the seed's VAE as a torch.nn.Module whose state_dict keys are the
model file's tensor names, loads the weights (needing only torch: the
safetensors header is plain JSON), encodes the MNIST test images and
compares the latent means with those `vae encode` wrote.

    go run ./cmd/vae encode --out latent.csv runs/mnist-512-2/model.safetensors
    /usr/bin/python3 scripts/torch_vae.py runs/mnist-512-2/model.safetensors --check latent.csv
"""
import argparse
import csv
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn


def load_safetensors(path):
    """Returns the tensors and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        begin, end = t["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(t["shape"])
    return tensors, meta


def save_safetensors(path, tensors, meta=None):
    """Writes float32 tensors (a dict name -> tensor) and string metadata as
    a safetensors file: tensors sorted by name, header padded with spaces to
    a multiple of 8 bytes, data little-endian, as vae's own writer does."""
    header = {"__metadata__": dict(meta)} if meta else {}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = struct.pack(f"<{t.numel()}f", *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        f.writelines(chunks)


class VAE(nn.Module):
    """The seed's VAE with the layer names of the Go package vae."""

    def __init__(self, cfg):
        super().__init__()
        kinds = {"relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus}
        sizes = [cfg["input"]] + list(cfg.get("hidden") or [])
        # one activation per hidden layer, encoder order; the decoder mirrors them
        acts = cfg.get("activations") or [cfg.get("activation") or "relu"] * (len(sizes) - 1)
        self.encoder_acts = [kinds[a]() for a in acts]
        self.decoder_acts = [kinds[a]() for a in reversed(acts)]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.z_mean = nn.Linear(sizes[-1], cfg["latent"])
        self.z_log_var = nn.Linear(sizes[-1], cfg["latent"])
        back = [cfg["latent"]] + sizes[:0:-1]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back, back[1:]))
        self.output = nn.Linear(back[-1], cfg["input"])
        if cfg.get("likelihood") == "gaussian" and not cfg.get("sigma"):
            # the learned log-variance of p(x|z), one per input dimension
            self.output.log_var = nn.Parameter(torch.zeros(cfg["input"]))

    def encode(self, x):
        for layer, act in zip(self.encoder, self.encoder_acts):
            x = act(layer(x))
        return self.z_mean(x), self.z_log_var(x)

    def decode(self, z):
        """Returns the Bernoulli logits, or the means of a Gaussian likelihood."""
        for layer, act in zip(self.decoder, self.decoder_acts):
            z = act(layer(z))
        return self.output(z)


def load_model(path):
    tensors, meta = load_safetensors(path)
    model = VAE(json.loads(meta["config"]))
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optim/")})
    return model


def read_idx_images(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, path
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).reshape(n, rows * cols).float() / 255


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--data", default=os.path.join(os.path.expanduser("~"), ".cache", "vae", "mnist"),
                    help="folder with t10k-images-idx3-ubyte[.gz] (default: vae's cache)")
    ap.add_argument("--check", help="CSV written by `vae encode` to compare the latent means with")
    args = ap.parse_args()

    model = load_model(args.model)
    name = next(f for f in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte") if os.path.exists(os.path.join(args.data, f)))
    x = read_idx_images(os.path.join(args.data, name))
    with torch.no_grad():
        mean, _ = model.encode(x)
    print(f"torch {torch.__version__}: encoded {x.shape[0]} test images into {mean.shape[1]} latent dimensions")
    if args.check:
        with open(args.check) as f:
            rows = list(csv.DictReader(f))
        cols = [c for c in rows[0] if c.startswith("z_mean_")]
        go = torch.tensor([[float(r[c]) for c in cols] for r in rows])
        diff = (go - mean).abs().max().item()
        scale = mean.abs().max().item()
        print(f"max |Go − PyTorch| of the latent means: {diff:.3g} (largest mean {scale:.3g})")
        if diff > 1e-4 * max(1.0, scale):
            sys.exit("mismatch")


if __name__ == "__main__":
    main()
