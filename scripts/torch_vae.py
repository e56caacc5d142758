#!/usr/bin/env python3
"""Load a vae model file into PyTorch and check it against the Go package.

Builds the model as a torch.nn.Module whose state_dict keys are the model
file's tensor names and loads the weights (needing only torch: the
safetensors header is plain JSON). Models of images (one Bernoulli or
Gaussian likelihood for all inputs) and models of parts (a table's columns,
each with its own likelihood, missing values allowed) both load: see VAE.

An image model: encode the MNIST test images and compare the latent means
with those `vae encode` wrote:

    go run ./cmd/vae encode --out latent.csv runs/mnist-512-2/model.safetensors
    /usr/bin/python3 scripts/torch_vae.py runs/mnist-512-2/model.safetensors --check latent.csv

A model of a table: the file keeps the table's preprocessing (metadata
"table"); preprocess() applies it to raw rows exactly as the Go encoder
does. Without --rows the script prints that preprocessing; with --rows it
encodes a CSV file's records, and --check compares the latent means with
`vae encode`'s, --out writes the inputs, the latent means and log-variances
and the reconstructions (decoder means of the posterior means):

    /usr/bin/python3 scripts/torch_vae.py model.safetensors
    /usr/bin/python3 scripts/torch_vae.py model.safetensors --rows data.csv --check latent.csv --out out.safetensors

In Python:

    model = load_model("model.safetensors")
    x = model.preprocess([{"age": "34", "city": "Paris", "income": "NA"}])  # [1, input], NaN where missing
    mean, log_var = model.encode(x)
    x_hat = model.reconstruct(x)  # per column: the Gaussian mean, P(1), or the category probabilities
"""
import argparse
import csv
import gzip
import json
import math
import os
import re
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)

# The cells package table reads as missing by default (table.DefaultMissing).
DEFAULT_MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")

# What Go's strings.TrimSpace trims: Unicode White_Space (str.strip() would
# also trim U+001C to U+001F).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

# The syntax of strconv.ParseFloat, base 10 or 16, without underscores.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_SPECIAL = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)


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


def parse_layer(spec):
    """Parses a layer spec of package vae ("dense16", "conv32s2", "convT1k3p1o1",
    "reshape64x7x7", "flatten", each with an optional ":activation") into
    (kind, number, options, shape, activation)."""
    body, _, act = spec.partition(":")
    if body == "flatten":
        return "flatten", 0, {}, None, act
    m = re.fullmatch(r"reshape(\d+)x(\d+)x(\d+)", body)
    if m:
        return "reshape", 0, {}, tuple(int(g) for g in m.groups()), act
    m = re.fullmatch(r"dense(\d+)", body)
    if m:
        return "dense", int(m.group(1)), {}, None, act
    m = re.fullmatch(r"conv(T?)(\d+)((?:[ksop]\d+)*)", body)
    if not m:
        raise ValueError(f"layer {spec!r}: unknown")
    opts = {k: int(v) for k, v in re.findall(r"([ksop])(\d+)", m.group(3))}
    return ("convT" if m.group(1) else "conv"), int(m.group(2)), opts, None, act


def same_padding(n, k, stride):
    """TensorFlow's "same" padding of a dimension of size n: (before, after)."""
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def size(shape):
    return math.prod(shape)


def stack(specs, shape, default_act, kinds, output=False):
    """Returns the layers with parameters of specs (an nn.ModuleList), the
    steps that run them ("layer", index, pad, crop), ("act", module),
    ("reshape", shape) or ("flatten",), and the shape of the output. With
    output set the last spec is the output layer: no activation after it."""
    layers, steps = nn.ModuleList(), []
    for i, spec in enumerate(specs):
        kind, n, opts, to, act = parse_layer(spec)
        pad = crop = None
        if kind == "flatten":
            shape = (size(shape),)
            steps.append(("flatten",))
            continue
        if kind == "reshape":
            shape = to
            steps.append(("reshape", to))
            continue
        if kind == "dense":
            layers.append(nn.Linear(size(shape), n))
            shape = (n,)
        else:
            c, h, w = shape
            k, s = opts.get("k", 3), opts.get("s", 1)
            if kind == "conv":
                if "p" in opts:
                    layers.append(nn.Conv2d(c, n, k, s, padding=opts["p"]))
                    top = bottom = left = right = opts["p"]
                else:  # TensorFlow's "same": pad, then an unpadded convolution
                    (top, bottom), (left, right) = same_padding(h, k, s), same_padding(w, k, s)
                    pad = (left, right, top, bottom)
                    layers.append(nn.Conv2d(c, n, k, s))
                shape = (n, (h + top + bottom - k) // s + 1, (w + left + right - k) // s + 1)
            else:
                if "p" in opts:
                    layers.append(nn.ConvTranspose2d(c, n, k, s, padding=opts["p"], output_padding=opts.get("o", 0)))
                    shape = (n, (h - 1) * s - 2 * opts["p"] + k + opts.get("o", 0), (w - 1) * s - 2 * opts["p"] + k + opts.get("o", 0))
                else:  # the adjoint of "same" on the output: the full result, cropped
                    (top, bottom), (left, right) = same_padding(h * s, k, s), same_padding(w * s, k, s)
                    crop = (top, bottom, left, right)
                    layers.append(nn.ConvTranspose2d(c, n, k, s))
                    shape = (n, h * s, w * s)
        steps.append(("layer", len(layers) - 1, pad, crop))
        if not (output and i == len(specs) - 1):
            steps.append(("act", kinds[act or default_act]()))
    return layers, steps, shape


def run_steps(x, steps, layers, labels=None):
    """Runs the steps of stack on x [n, ...], with layers the modules their
    indices name; a layer with a "class" parameter adds its row of each
    row's label."""
    for step in steps:
        if step[0] == "act":
            x = step[1](x)
        elif step[0] == "flatten":
            x = x.flatten(1)
        elif step[0] == "reshape":
            x = x.reshape(x.shape[0], *step[1])
        else:
            _, i, pad, crop = step
            if pad:
                x = F.pad(x, pad)
            x = layers[i](x.flatten(1) if isinstance(layers[i], nn.Linear) else x)
            if labels is not None and hasattr(layers[i], "class"):
                x = x + getattr(layers[i], "class")[labels]
            if crop:
                t, b, l, r = crop
                x = x[..., t:x.shape[-2] - b, l:x.shape[-1] - r]
    return x


class VAE(nn.Module):
    """The VAE of the Go package vae, with its layer names.

    cfg is the model file's "config": input, hidden, latent, activation(s),
    and likelihood and sigma, or parts. A model of parts cuts each row of
    the inputs x [n, input] into consecutive parts (dicts name, likelihood,
    width), each with its own likelihood: "gaussian" (width 1, its variance
    learned, the entry of output.log_var), "bernoulli" (width 1, a logit) or
    "categorical" (width ≥ 2, softmax logits over a one-hot target). A part
    whose first value is NaN is missing: it adds nothing to the
    reconstruction term, and the encoder reads x with the missing parts
    zeroed followed by one indicator per part, 1 where it is missing, else 0
    (input + len(parts) values). table, if given, is the model file's
    "table" (the schema of package table, with its preprocessing) that
    preprocess applies.
    """

    def __init__(self, cfg, table=None):
        super().__init__()
        kinds = {"relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus}
        self.input = cfg["input"]
        self.parts = [(p["name"], p["likelihood"], p["width"]) for p in cfg.get("parts") or []]
        self.offsets, off = [], 0
        for _, _, w in self.parts:
            self.offsets.append(off)
            off += w
        if self.parts and off != self.input:
            raise ValueError(f"config: parts add up to {off} inputs, input is {self.input}")
        self.likelihood = cfg.get("likelihood") or "bernoulli"
        self.sigma = cfg.get("sigma") or 0
        self.table = table
        self.image = cfg.get("image")
        enc_specs, dec_specs = cfg.get("encoder"), cfg.get("decoder")
        if enc_specs is None:  # dense hidden layers, the decoder mirroring the encoder
            hidden = list(cfg.get("hidden") or [])
            acts = cfg.get("activations") or [cfg.get("activation") or "relu"] * len(hidden)
            enc_specs = [f"dense{h}:{a}" for h, a in zip(hidden, acts)]
            dec_specs = enc_specs[::-1]
        default_act = cfg.get("activation") or "relu"
        image = cfg.get("image")
        # the encoder's input: x, then the missing-part indicators
        shape = tuple(image) if image else (self.input + len(self.parts),)
        self.encoder, self.encoder_steps, shape = stack(enc_specs, shape, default_act, kinds)
        self.z_mean = nn.Linear(size(shape), cfg["latent"])
        self.z_log_var = nn.Linear(size(shape), cfg["latent"])
        last_conv = bool(dec_specs) and parse_layer(dec_specs[-1])[0] in ("conv", "convT")
        self.decoder, self.decoder_steps, shape = stack(dec_specs, (cfg["latent"],), default_act, kinds, output=last_conv)
        classes = cfg.get("classes") or 0
        if classes:
            # A conditional model: the class's one-hot beside the input of the
            # encoder's first dense layer and beside z, as the weights of an
            # embedding added to those layers' outputs ("<layer>.class").
            first = next(l for l in self.encoder if isinstance(l, nn.Linear))
            first.register_parameter("class", nn.Parameter(torch.zeros(classes, first.out_features)))
        if last_conv:  # the last layer is the output layer, without activation
            self.output = self.decoder[-1]
            self.decoder = self.decoder[:-1]
        else:
            self.decoder_steps.append(("layer", len(self.decoder), None, None))
            self.output = nn.Linear(size(shape), self.input)
        if classes:
            dec0 = self.decoder[0] if len(self.decoder) else self.output
            dec0.register_parameter("class", nn.Parameter(torch.zeros(classes, dec0.out_features)))
        learned = any(lik == "gaussian" for _, lik, _ in self.parts) if self.parts else \
            self.likelihood == "gaussian" and not self.sigma
        if learned:
            # the learned log-variance of p(x|z), one per input (a model of
            # parts uses the entries of its Gaussian parts only)
            self.output.log_var = nn.Parameter(torch.zeros(self.input))

    def missing(self, x):
        """Returns, for a model of parts, which parts of x [..., input] are
        missing (their first value NaN) as booleans [..., parts]."""
        return torch.stack([x[..., off].isnan() for off in self.offsets], -1)

    def encoder_input(self, x):
        """Returns what the encoder reads for x [..., input]: x itself, or for
        a model of parts x with its missing parts zeroed, then one indicator
        per part (1.0 missing, 0.0 observed) [..., input + parts]."""
        if not self.parts:
            return x
        miss = self.missing(x)
        widths = torch.tensor([w for _, _, w in self.parts])
        zeroed = x.masked_fill(miss.repeat_interleave(widths, dim=-1), 0)
        return torch.cat([zeroed, miss.to(x.dtype)], -1)

    def encode(self, x, labels=None):
        """Returns the mean and log-variance of q(z|x) for x [..., input]
        (NaN where a part is missing, for a model of parts), or of q(z|x, y)
        for a conditional model's labels y [...]."""
        x = self.encoder_input(x)
        lead = x.shape[:-1]
        x = x.reshape(-1, *self.image) if self.image else x.reshape(-1, x.shape[-1])
        x = run_steps(x, self.encoder_steps, list(self.encoder), None if labels is None else labels.reshape(-1)).flatten(1)
        return self.z_mean(x).reshape(*lead, -1), self.z_log_var(x).reshape(*lead, -1)

    def decode(self, z, labels=None):
        """Returns the decoder's outputs: Bernoulli logits, Gaussian means,
        or for a model of parts each part's logit, mean or softmax logits;
        given a conditional model's labels y (of z's leading shape, or of
        its first dimensions: the inputs whose samples z are)."""
        lead = z.shape[:-1]
        if labels is not None:
            labels = labels.reshape(*labels.shape, *[1] * (len(lead) - labels.dim())).expand(lead)
        out = run_steps(z.reshape(-1, z.shape[-1]), self.decoder_steps, list(self.decoder) + [self.output],
                        None if labels is None else labels.reshape(-1))
        return out.flatten(1).reshape(*lead, self.input)

    def mean(self, outputs):
        """Returns the mean of p(x|z) given the decoder's outputs, as Go's
        Decode: sigmoid of a logit, a Gaussian's mean, the softmax of a
        categorical part's logits."""
        if not self.parts:
            return outputs if self.likelihood == "gaussian" else torch.sigmoid(outputs)
        out = []
        for (_, lik, w), off in zip(self.parts, self.offsets):
            o = outputs[..., off:off + w]
            out.append(o if lik == "gaussian" else torch.sigmoid(o) if lik == "bernoulli" else torch.softmax(o, -1))
        return torch.cat(out, -1)

    def reconstruct(self, x):
        """Returns the decoder's means of the posterior means of x, as Go's
        Reconstruct."""
        return self.mean(self.decode(self.encode(x)[0]))

    def part_nll(self, outputs, x):
        """Returns −log p(x|z) of each part [..., parts] of the targets x
        [..., input] given the decoder's outputs, 0 where a part is missing:
        Gaussian ½((x−μ)²·e^−lv + lv + log 2π), binary cross-entropy with
        logits, softmax cross-entropy."""
        losses = []
        for (_, lik, w), off in zip(self.parts, self.offsets):
            o, t = outputs[..., off:off + w], x[..., off:off + w]
            miss = t[..., 0].isnan()
            t = torch.where(miss.unsqueeze(-1), torch.zeros_like(t), t)  # no NaN in the graph, not even in a branch not taken
            if lik == "gaussian":
                lv = self.output.log_var[off]
                loss = 0.5 * ((t[..., 0] - o[..., 0]).pow(2) * torch.exp(-lv) + lv + LOG_2PI)
            elif lik == "bernoulli":
                loss = F.binary_cross_entropy_with_logits(o[..., 0], t[..., 0], reduction="none")
            else:
                loss = -(t * torch.log_softmax(o, -1)).sum(-1)
            losses.append(torch.where(miss, torch.zeros_like(loss), loss))
        return torch.stack(losses, -1)

    def nll(self, outputs, x):
        """Returns −log p(x|z) of each row [...] of the targets x [..., input],
        summed over its inputs (its observed parts), given the decoder's
        outputs: the reconstruction term of package vae."""
        if self.parts:
            return self.part_nll(outputs, x).sum(-1)
        if self.likelihood == "gaussian":
            lv = self.output.log_var if not self.sigma else torch.full((self.input,), 2 * math.log(self.sigma))
            return 0.5 * ((x - outputs).pow(2) * torch.exp(-lv) + lv + LOG_2PI).sum(-1)
        return F.binary_cross_entropy_with_logits(outputs, x, reduction="none").sum(-1)

    def preprocess(self, rows, missing=None):
        """preprocess(rows, missing) with this model's table: see preprocess."""
        if self.table is None:
            raise ValueError("the model was not trained on a table (its file has no \"table\" metadata)")
        return preprocess(rows, self.table, missing)


def features(schema):
    """Returns the model's inputs of a table's schema (the model file's
    "table", as JSON-decoded), as Schema.Features: the columns that are
    continuous, positive, binary or categorical and neither the id nor the
    label, in the file's order, each a dict with name, type, offset, width
    (1, or the number of categories) and the fitted mean, std, categories."""
    out, off = [], 0
    for c in schema["columns"]:
        typ = c.get("type")
        if typ not in ("continuous", "positive", "binary", "categorical"):
            continue
        if c["name"] in (schema.get("id", ""), schema.get("label", "")):
            continue
        cats = list(c.get("categories") or [])
        w = len(cats) if typ == "categorical" else 1
        out.append({"name": c["name"], "type": typ, "offset": off, "width": w,
                    "mean": c.get("mean", 0.0), "std": c.get("std", 0.0), "categories": cats})
        off += w
    return out


def parse_number(cell):
    """Returns cell as a float as Go's strconv.ParseFloat reads it (decimal
    or hexadecimal, inf, infinity, nan; an overflow is ±inf), or None."""
    if not cell or cell[0] not in "0123456789+-.iInN":
        return None
    if _DECIMAL.fullmatch(cell) or _SPECIAL.fullmatch(cell):
        return float(cell)
    if _HEX.fullmatch(cell):
        try:
            return float.fromhex(cell)
        except OverflowError:
            return -math.inf if cell[0] == "-" else math.inf
    return None


def _cell(v):
    """Returns a row's value as the text of a CSV cell: None is missing
    (""), a float NaN too, other values as str()."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return v if isinstance(v, str) else str(v)


def _records(rows):
    """Returns rows as a list of dicts: a dict of column lists (a table by
    columns), a dict of cells (one row), or an iterable of dicts."""
    if isinstance(rows, dict):
        if rows and all(isinstance(v, (list, tuple)) for v in rows.values()):
            n = {len(v) for v in rows.values()}
            if len(n) != 1:
                raise ValueError(f"preprocess: columns of different lengths {sorted(n)}")
            return [{k: v[i] for k, v in rows.items()} for i in range(n.pop())]
        return [rows]
    return list(rows)


def preprocess(rows, schema, missing=None):
    """Returns the model's inputs [len(rows), input] (float32) for raw rows,
    doing exactly what the Go encoder (table.Schema.Encode and
    Binding.Encode, with the model file's "table" schema) does:

    - rows: a list of dicts column name -> cell (a dict of cells is one
      row; a dict of lists is a table by columns). A cell is the text of a
      CSV cell; None and float NaN are missing, other values are str()-ed.
      Columns the schema does not use may be present, in any order; one of
      the model's columns lacking is an error.
    - A cell is trimmed of spaces; it is missing if it is one of missing
      (trimmed; default DEFAULT_MISSING, table.DefaultMissing). A missing
      cell is NaN over its feature's width.
    - continuous: (x − mean)/std; positive: (log x − mean)/std, with x read
      as Go's strconv.ParseFloat does and the arithmetic in float64, then
      rounded to float32. A cell that is not a finite number, one ≤ 0 in a
      positive column, or a value too far from the mean for float32 is an
      error.
    - binary: 0 for categories[0], 1 for categories[1]; categorical: one-hot
      in the order of categories. Another value is an error, or missing
      (NaN) when the schema's "unknown" is "missing".

    Errors are ValueErrors naming the row (0-based), column and cell. The
    inputs feed VAE.encode, which zeroes the missing parts and appends the
    missing indicators itself.
    """
    feats = features(schema)
    unknown = schema.get("unknown", "")
    if unknown not in ("", "error", "missing"):
        raise ValueError(f"schema: unknown-category policy {unknown!r} (want \"error\" or \"missing\")")
    for f in feats:
        if f["type"] in ("continuous", "positive") and not (0 < f["std"] < math.inf and math.isfinite(f["mean"])):
            raise ValueError(f"column {f['name']!r}: the schema is not fitted (std {f['std']}, mean {f['mean']})")
        if f["type"] in ("binary", "categorical") and not f["categories"]:
            raise ValueError(f"column {f['name']!r}: the schema is not fitted (no categories)")
        if f["type"] == "binary" and len(f["categories"]) > 2:
            raise ValueError(f"column {f['name']!r}: a binary column with {len(f['categories'])} categories")
        if f["type"] == "categorical":
            f["index"] = {}
            for k, v in enumerate(f["categories"]):
                if v in f["index"]:
                    raise ValueError(f"column {f['name']!r}: category {v!r} appears twice")
                f["index"][v] = k
    tokens = {t.strip(GO_SPACE) for t in (DEFAULT_MISSING if missing is None else missing)}
    records = _records(rows)
    width = sum(f["width"] for f in feats)
    out = torch.zeros(len(records), width, dtype=torch.float32)
    for r, rec in enumerate(records):
        lacking = [f["name"] for f in feats if f["name"] not in rec]
        if lacking:
            raise ValueError(f"row {r}: missing columns {lacking} (of the schema's {len(feats)} inputs)")
        for f in feats:
            lo, hi = f["offset"], f["offset"] + f["width"]
            cell = _cell(rec[f["name"]]).strip(GO_SPACE)

            def bad(why):
                return ValueError(f"row {r}: column {f['name']!r}: {cell!r} {why}")
            if cell in tokens:
                out[r, lo:hi] = math.nan
            elif f["type"] in ("continuous", "positive"):
                x = parse_number(cell)
                if x is None or math.isnan(x):
                    raise bad("is not a number")
                if math.isinf(x):
                    raise bad("is not a finite number")
                if f["type"] == "positive":
                    if x <= 0:
                        raise bad("is not > 0, in a positive column")
                    x = math.log(x)
                z = (x - f["mean"]) / f["std"]
                if math.isnan(z) or abs(z) > 3.4028234663852886e38:
                    raise bad(f"is too far from the training values (mean {f['mean']:.4g}, std {f['std']:.4g}) to encode")
                out[r, lo] = z  # rounded to float32, as Go's float32(z)
            elif f["type"] == "binary":
                cats = f["categories"]
                if cell == cats[0]:
                    out[r, lo] = 0
                elif len(cats) > 1 and cell == cats[1]:
                    out[r, lo] = 1
                elif unknown == "missing":
                    out[r, lo] = math.nan
                else:
                    raise bad(f"is an unknown category (the training rows had {cats})")
            else:
                k = f["index"].get(cell)
                if k is not None:
                    out[r, lo + k] = 1
                elif unknown == "missing":
                    out[r, lo:hi] = math.nan
                else:
                    raise bad(f"is an unknown category (the training rows had {f['categories']})")
    return out


def describe(schema):
    """Returns the preprocessing of a table's schema as lines of text, one
    per model input."""
    lines = []
    for f in features(schema):
        at = f"[{f['offset']}]" if f["width"] == 1 else f"[{f['offset']}:{f['offset'] + f['width']}]"
        if f["type"] == "continuous":
            how = f"(x - {f['mean']!r}) / {f['std']!r}"
        elif f["type"] == "positive":
            how = f"(log(x) - {f['mean']!r}) / {f['std']!r}"
        elif f["type"] == "binary":
            how = ", ".join(f"{v!r} -> {i}" for i, v in enumerate(f["categories"]))
        else:
            how = "one-hot of " + ", ".join(repr(v) for v in f["categories"])
        lines.append(f"x{at} = {f['name']} ({f['type']}): {how}")
    lines.append("missing cells " + ", ".join(repr(t) for t in DEFAULT_MISSING) + " -> NaN over the column's width"
                 + ("; unknown categories too" if schema.get("unknown") == "missing" else ""))
    return lines


def load_model(path):
    """Returns the model of a model file written by package vae (its
    optimizer state left out), with its table schema if it has one."""
    tensors, meta = load_safetensors(path)
    table = json.loads(meta["table"]) if "table" in meta else None
    model = VAE(json.loads(meta["config"]), table)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optim/")})
    return model


def read_csv(path, delimiter=","):
    """Returns the records of a CSV file with a header as dicts (the first
    of repeated column names, as package table binds them)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader)
        first = {}
        for j, name in enumerate(header):
            first.setdefault(name.strip(GO_SPACE), j)
        return [{name: rec[j] for name, j in first.items() if j < len(rec)} for rec in reader]


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
    ap.add_argument("--rows", help="a model of a table: CSV file (with a header) of raw rows to preprocess and encode")
    ap.add_argument("--delimiter", default=",", help="the --rows file's delimiter (default ,)")
    ap.add_argument("--check", help="CSV written by `vae encode` to compare the latent means with")
    ap.add_argument("--out", help="safetensors file to write x, z_mean, z_log_var and recon (the reconstructions) to")
    args = ap.parse_args()

    model = load_model(args.model)
    if args.rows:
        x = model.preprocess(read_csv(args.rows, args.delimiter))
        what = f"{x.shape[0]} rows of {args.rows}"
    elif model.table is not None:
        print(f"model of a table: preprocess(rows, schema) or model.preprocess(rows) applies, to {model.input} inputs:")
        print("\n".join("  " + line for line in describe(model.table)))
        print("give --rows FILE.csv to encode a file's rows")
        return
    else:
        name = next(f for f in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte") if os.path.exists(os.path.join(args.data, f)))
        x = read_idx_images(os.path.join(args.data, name))
        what = f"{x.shape[0]} test images"
    with torch.no_grad():
        mean, log_var = model.encode(x)
        recon = model.mean(model.decode(mean))
    print(f"torch {torch.__version__}: encoded {what} into {mean.shape[1]} latent dimensions")
    if args.out:
        save_safetensors(args.out, {"x": x, "z_mean": mean, "z_log_var": log_var, "recon": recon}, {"torch": torch.__version__})
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
