#!/usr/bin/env python3
"""PyTorch reference for the Go package vae: one training step, and a benchmark.

step IN OUT
    IN is a safetensors file written by the Go test TestMatchesPyTorch: the
    model's tensors under their model-file names, a batch `x` [n, input], the
    noise `eps` [n, latent], and in the metadata the model's "config" and the
    Adam hyperparameters "adam" (JSON {"lr", "beta1", "beta2", "eps"}). The
    script builds the VAE of scripts/torch_vae.py, computes the per-sample loss
    of package vae, (sum of −log p(x|z) + KL) / n, back-propagates it and
    takes one torch.optim.Adam step. −log p(x|z) is the BCE with logits, the
    Gaussian NLL (with log 2π), or for a model of parts ("parts" in the
    config) each observed part's: Gaussian NLL with its learned
    log-variance, BCE with logits, softmax cross-entropy; a part missing
    from a row (NaN in x) adds nothing, and the encoder reads x with the
    missing parts zeroed and one missing indicator per part. OUT receives the
    per-sample `loss`, `recon` and `kl` as 0-dimensional tensors, every
    parameter's gradient as `grad/<name>` and its value after the step as
    `after/<name>`, with the torch version and the BLAS libraries loaded in
    the metadata.

bench [--threads N] [--steps S] [--batch B] [--iwae K] [--arch 784-400-20|784-512-2|784-200-200-50 ...]
    Times training steps (batch 128, Adam lr 1e-3, shuffled MNIST, the
    recipes of examples/pytorch.yaml and examples/keras.yaml; --iwae K trains
    on the importance-weighted bound of K samples) and inference
    (encode to the means, decode to images, batch 1000 over the test set) and
    prints one JSON object with samples per second (training: over all timed
    steps, and from the median step; inference: the best pass), the BLAS
    library torch loaded, the load average before the run and the peak
    resident memory. OMP_NUM_THREADS is set to --threads before torch loads.
    With more than one thread, other work on the machine can slow torch down
    many times over (OpenMP threads spin while they wait for each other):
    time on a quiet machine.

nll MODEL [--k K] [--n N] [--threads T] [--binarize]
    Loads a Bernoulli model file written by package vae and estimates the
    importance-weighted −log p(x) of the first N test images with K samples
    each, as `vae eval --nll` does (in chunks of 1000 samples, log-sum-exp
    in float64), and prints one JSON object with the mean NLL, its standard
    error and the images per second. --binarize uses a binarisation of the
    test set drawn by torch (not the Go one: compare speed, and the NLL
    within its standard error).

score MODEL INPUTS OUT [--k K] [--nll-n N] [--batch B] [--repeats R] [--threads T]
    What `vae bench score` runs: times the negative ELBO of the images `x`
    of INPUTS (one z per image, batches of B, as `vae score`) and the
    importance-weighted −log p(x) of the first N with K samples each (as
    `vae score --k K`), the best of R passes each, and prints one JSON
    object with the images per second. OUT receives each image's `elbo`,
    computed with the noise `eps` of INPUTS (the Go side's, so that the two
    can be compared image by image), and `nll` (torch's own draws).

keras-conv [--epochs 30] [--threads T] [--seed S]
    Trains the Keras VAE example's convolutional network as it is today
    (keras.io examples/generative/vae.py): Conv2D(32, 3, s2, same, ReLU) →
    Conv2D(64, 3, s2, same, ReLU) → Flatten → Dense(16, ReLU) → z_mean,
    z_log_var (2); Dense(7·7·64, ReLU) → Reshape → ConvTranspose(64, 3, s2,
    same, ReLU) → ConvTranspose(32, 3, s2, same, ReLU) → ConvTranspose(1, 3,
    same) → sigmoid; TensorFlow's "same" padding exactly (stride 2 pads 0
    before and 1 after), Glorot-uniform kernels and zero biases as Keras,
    Adam (lr 1e-3, ε 1e-7), batch 128, the grayscale MNIST training images
    as Bernoulli targets, loss = BCE summed over pixels + KL per image. Prints
    one JSON line per epoch: train and test loss (per image, test with one
    draw of ε) and seconds; the reference for issue 15's conv VAE.

    /usr/bin/python3 scripts/torch_reference.py bench --threads 1
    /usr/bin/python3 scripts/torch_reference.py step in.safetensors out.safetensors

Needs only torch and the standard library.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

# Recipes: the two reference examples and Burda et al.'s network, with their
# initialisation and Adam epsilon.
RECIPES = {
    "784-400-20": {"config": {"input": 784, "hidden": [400], "latent": 20, "activation": "relu", "init": "pytorch"}, "adam_eps": 1e-8},
    # Burda et al. (2016)'s one-stochastic-layer VAE (they train it at batch 20:
    # bench --arch 784-200-200-50 --batch 20)
    "784-200-200-50": {"config": {"input": 784, "hidden": [200, 200], "latent": 50, "activation": "tanh", "init": "glorot"}, "adam_eps": 1e-4},
    "784-512-2": {"config": {"input": 784, "hidden": [512], "latent": 2, "activation": "relu", "init": "glorot"}, "adam_eps": 1e-7},
    # The Keras example's convolutional VAE (vae.ConvNetwork), as examples/keras-conv.yaml.
    "keras-conv": {"config": {"input": 784, "image": [1, 28, 28], "latent": 2, "activation": "relu", "init": "glorot",
                              "encoder": ["conv32s2", "conv64s2", "dense16"],
                              "decoder": ["dense3136", "reshape64x7x7", "convT64s2", "convT32s2", "convT1"]}, "adam_eps": 1e-7},
}


def loss_terms(model, x, eps, labels=None):
    """Returns the per-sample reconstruction and KL terms of package vae:
    each summed over its dimensions and averaged over the batch, with
    z = mean + exp(log_var/2)·eps. x may have missing parts (NaN) in a
    model of parts; labels are a conditional model's classes."""
    n = x.shape[0]
    mean, log_var = model.encode(x, labels)
    z = mean + torch.exp(log_var / 2) * eps
    recon = model.nll(model.decode(z, labels), x).sum() / n
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp()) / n
    return recon, kl


def iwae_loss(model, x, k):
    """Returns the negative importance-weighted bound of k samples per input,
    averaged over the batch, as package vae trains it with --objective iwae
    (one encoder pass, k draws of z per input)."""
    mean, log_var = model.encode(x)
    eps = torch.randn(x.shape[0], k, mean.shape[1])
    z = mean.unsqueeze(1) + torch.exp(log_var / 2).unsqueeze(1) * eps  # [n, k, latent]
    logits = model.decode(z.reshape(-1, z.shape[-1])).reshape(x.shape[0], k, -1)
    log_px = -model.nll(logits, x.unsqueeze(1).expand_as(logits))
    log_w = log_px + 0.5 * (eps.pow(2) - z.pow(2) + log_var.unsqueeze(1)).sum(-1)  # the log 2π terms cancel
    return -(torch.logsumexp(log_w, 1) - math.log(k)).mean()


def blas_libraries():
    """Returns the paths of the BLAS and LAPACK libraries mapped into this
    process, the library that does the work first: libopenblas*.so where
    libblas.so.3 is OpenBLAS's, or the reference libblas.so.3."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line or "lapack" in line}
    return sorted(paths, key=lambda p: (not os.path.basename(p).startswith("libopenblas"), "lapack" in p, p))


def step(args):
    """One forward, backward and Adam step, written to args.out."""
    tensors, meta = load_safetensors(args.input)
    model = VAE(json.loads(meta["config"]))
    model.load_state_dict({name: tensors[name] for name in model.state_dict()})
    adam = json.loads(meta["adam"])
    opt = torch.optim.Adam(model.parameters(), lr=adam["lr"], betas=(adam["beta1"], adam["beta2"]), eps=adam["eps"])

    labels = tensors["labels"].long() if "labels" in tensors else None
    recon, kl = loss_terms(model, tensors["x"], tensors["eps"], labels)
    loss = recon + kl
    opt.zero_grad()
    loss.backward()
    out = {"loss": loss, "recon": recon, "kl": kl}
    for name, p in model.named_parameters():
        out["grad/" + name] = p.grad.clone()
    opt.step()
    for name, p in model.named_parameters():
        out["after/" + name] = p.detach().clone()
    save_safetensors(args.out, out, {"torch": torch.__version__, "blas": " ".join(blas_libraries())})


def read_mnist(folder, kind):
    """Returns the MNIST images of kind "train" or "t10k" as [n, 784] in [0, 1]."""
    for name in (f"{kind}-images-idx3-ubyte.gz", f"{kind}-images-idx3-ubyte"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return read_idx_images(path)
    sys.exit(f"{folder}: no {kind}-images-idx3-ubyte[.gz] (run `go run ./cmd/vae train` once to fetch MNIST)")


def new_model(recipe):
    """Returns the recipe's VAE, initialised as the Go package does it:
    nn.Linear's default, or Glorot-uniform weights and zero biases."""
    model = VAE(recipe["config"])
    if recipe["config"]["init"] == "glorot":
        for layer in model.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
    return model


def rate(samples, seconds):
    """Returns samples per second, rounded for printing."""
    return round(samples / seconds, 1)


def bench_arch(recipe, train, test, args):
    """Returns training and inference speeds, in samples per second, of one
    recipe."""
    model = new_model(recipe)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=recipe["adam_eps"])
    order = torch.randperm(train.shape[0])
    batches = train.shape[0] // args.batch

    def train_step(i):
        i %= batches
        x = train[order[i * args.batch:(i + 1) * args.batch]]
        if args.iwae > 1:
            loss = iwae_loss(model, x, args.iwae)
        else:
            recon, kl = loss_terms(model, x, torch.randn(x.shape[0], recipe["config"]["latent"]))
            loss = recon + kl
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(args.warmup):
        train_step(i)
    step_seconds = []
    for i in range(args.warmup, args.warmup + args.steps):
        start = time.perf_counter()
        train_step(i)
        step_seconds.append(time.perf_counter() - start)
    median_step = sorted(step_seconds)[len(step_seconds) // 2]

    # Inference: the best of a few passes over the test set, batch 1000.
    encode_seconds = decode_seconds = float("inf")
    with torch.no_grad():
        for _ in range(args.repeats):
            start = time.perf_counter()
            means = [model.encode(x)[0] for x in test.split(args.infer_batch)]
            encode_seconds = min(encode_seconds, time.perf_counter() - start)
            start = time.perf_counter()
            for z in means:
                torch.sigmoid(model.decode(z))
            decode_seconds = min(decode_seconds, time.perf_counter() - start)
    return {
        "train_samples_per_sec": rate(args.steps * args.batch, sum(step_seconds)),
        "train_samples_per_sec_median_step": rate(args.batch, median_step),  # less hurt by other work
        "encode_samples_per_sec": rate(test.shape[0], encode_seconds),
        "decode_samples_per_sec": rate(test.shape[0], decode_seconds),
    }


def bench(args):
    """Prints the benchmark's JSON object."""
    load = os.getloadavg()[0]  # other work on the machine skews the timings
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    train, test = read_mnist(args.data, "train"), read_mnist(args.data, "t10k")
    blas = blas_libraries()
    if not any("openblas" in p for p in blas):
        print(f"warning: torch did not load OpenBLAS (mapped: {blas or 'no BLAS'}); "
              "apt-get install libopenblas0-openmp", file=sys.stderr)
    result = {
        "torch": torch.__version__,
        "blas": blas[0] if blas else None,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_before": round(load, 2),
        "batch": args.batch,
        "iwae": args.iwae,
        "steps": args.steps,
        "arch": {arch: bench_arch(RECIPES[arch], train, test, args) for arch in args.arch},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))


def iw_nll(model, test, k_total, chunk=1000):
    """Returns the importance-weighted −log p(x) of each row of test [n, input]
    with k_total samples each, for a Bernoulli model, as Go's Model.NLL: in
    blocks of up to chunk samples (chunk // k_total images at a time when
    k_total < chunk), log-sum-exp in float64."""
    per = max(1, chunk // k_total)  # images per chunk when K < chunk
    out = []
    for lo in range(0, test.shape[0], per):
        x = test[lo:lo + per]
        mean, log_var = model.encode(x)
        std = torch.exp(log_var / 2)
        logw = []
        for s in range(0, k_total, max(1, chunk // x.shape[0])):
            k = min(k_total - s, max(1, chunk // x.shape[0]))
            eps = torch.randn(k, *mean.shape)
            z = mean + std * eps  # [k, n, latent]
            logits = model.decode(z)
            log_px = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
            log_pz_qz = 0.5 * (eps.pow(2) - z.pow(2) + log_var).sum(-1)
            logw.append((log_px + log_pz_qz).double())
        logw = torch.cat(logw)  # [K, n]
        out.append(-(torch.logsumexp(logw, 0) - math.log(k_total)))
    return torch.cat(out)


def nll(args):
    """Prints the importance-weighted NLL estimate and its speed."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = load_model(args.model)
    test = read_mnist(args.data, "t10k")[:args.n]
    if args.binarize:
        test = torch.bernoulli(test)
    start = time.perf_counter()
    with torch.no_grad():
        v = iw_nll(model, test, args.k)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "torch": torch.__version__, "blas": (blas_libraries() or [None])[0], "threads": torch.get_num_threads(),
        "k": args.k, "n": v.shape[0], "nll": v.mean().item(), "nll_se": (v.std() / math.sqrt(v.shape[0])).item(),
        "seconds": round(seconds, 2), "images_per_sec": rate(v.shape[0], seconds),
    }, indent=2))


def neg_elbo(model, x, eps, batch):
    """Returns the negative ELBO of each row of x [n, input], batch rows at a
    time, as Go's Model.Scores: −log p(x|z) + KL with one z = mean +
    exp(log_var/2)·ε per row, ε the rows of eps [n, latent], or drawn when
    eps is None."""
    out = []
    for lo in range(0, x.shape[0], batch):
        xb = x[lo:lo + batch]
        mean, log_var = model.encode(xb)
        e = torch.randn_like(mean) if eps is None else eps[lo:lo + batch]
        z = mean + torch.exp(log_var / 2) * e
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(-1)
        out.append(model.nll(model.decode(z), xb) + kl)
    return torch.cat(out)


def timed(repeats, f):
    """Returns the result of f's first call and the shortest of repeats calls'
    times, in seconds."""
    first, best = None, math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        v = f()
        best = min(best, time.perf_counter() - start)
        first = v if first is None else first
    return first, best


def score(args):
    """Times scoring as `vae score` and `vae score --k K` do, on the inputs
    the Go bench wrote; writes the scores and prints the speeds."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = load_model(args.model)
    inputs, _ = load_safetensors(args.inputs)
    x, eps = inputs["x"], inputs["eps"]
    with torch.no_grad():
        elbo = neg_elbo(model, x, eps, args.batch)  # Go's ε: the same values, to check
        _, elbo_seconds = timed(args.repeats, lambda: neg_elbo(model, x, None, args.batch))
        nll_x = x[:args.nll_n]
        nll_v, nll_seconds = timed(args.repeats, lambda: iw_nll(model, nll_x, args.k))
    save_safetensors(args.out, {"elbo": elbo, "nll": nll_v})
    print(json.dumps({
        "torch": torch.__version__, "blas": (blas_libraries() or [None])[0], "threads": torch.get_num_threads(),
        "elbo_images_per_sec": rate(x.shape[0], elbo_seconds), "nll_images_per_sec": rate(nll_x.shape[0], nll_seconds),
    }, indent=2))


def keras_conv_model():
    """Returns the Keras example's convolutional encoder and decoder."""

    class Same(nn.Module):
        """TensorFlow's "same" padding of a stride-2 3×3 convolution on an even
        size: 0 before, 1 after."""

        def forward(self, x):
            return F.pad(x, (0, 1, 0, 1))

    class Crop(nn.Module):
        """The transposed convolution of "same": the full output, less the pad
        the forward convolution added after."""

        def forward(self, x):
            return x[..., :-1, :-1]

    enc = nn.Sequential(Same(), nn.Conv2d(1, 32, 3, 2), nn.ReLU(), Same(), nn.Conv2d(32, 64, 3, 2), nn.ReLU(),
                        nn.Flatten(), nn.Linear(7 * 7 * 64, 16), nn.ReLU())
    heads = nn.Linear(16, 4)  # z_mean and z_log_var, 2 each
    dec = nn.Sequential(nn.Linear(2, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                        nn.ConvTranspose2d(64, 64, 3, 2), Crop(), nn.ReLU(),
                        nn.ConvTranspose2d(64, 32, 3, 2), Crop(), nn.ReLU(),
                        nn.ConvTranspose2d(32, 1, 3, 1, padding=1))
    for m in list(enc.modules()) + [heads] + list(dec.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return enc, heads, dec


def keras_conv(args):
    """Trains the Keras conv VAE and prints its losses per epoch."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train = read_mnist(args.data, "train").view(-1, 1, 28, 28)
    test = read_mnist(args.data, "t10k").view(-1, 1, 28, 28)
    enc, heads, dec = keras_conv_model()
    params = list(enc.parameters()) + list(heads.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-7)

    def loss_of(x):
        mean, log_var = heads(enc(x)).chunk(2, dim=1)
        z = mean + torch.exp(log_var / 2) * torch.randn_like(mean)
        recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum((1, 2, 3))
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(1)
        return (recon + kl).mean()

    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(train.shape[0])
        total = 0.0
        for lo in range(0, train.shape[0], 128):
            x = train[order[lo:lo + 128]]
            loss = loss_of(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        with torch.no_grad():
            test_loss = sum(loss_of(test[lo:lo + 1000]).item() * 1000 for lo in range(0, test.shape[0], 1000)) / test.shape[0]
        print(json.dumps({"epoch": epoch, "train_loss": round(total / train.shape[0], 3), "test_loss": round(test_loss, 3),
                          "seconds": round(time.perf_counter() - start, 1), "threads": torch.get_num_threads()}), flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step", help="one training step on the state the Go test wrote")
    s.add_argument("input", help="safetensors file written by TestMatchesPyTorch")
    s.add_argument("out", help="safetensors file to write the loss, gradients and new weights to")
    s.set_defaults(run=step)
    b = sub.add_parser("bench", help="training and inference speed on MNIST")
    b.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    b.add_argument("--steps", type=int, default=200, help="timed training steps per architecture (default 200)")
    b.add_argument("--warmup", type=int, default=20, help="untimed training steps first (default 20)")
    b.add_argument("--repeats", type=int, default=3, help="inference passes over the test set; the best counts (default 3)")
    b.add_argument("--batch", type=int, default=128, help="training batch size (default 128)")
    b.add_argument("--iwae", type=int, default=1, help="train on the importance-weighted bound of this many samples (default 1: the ELBO)")
    b.add_argument("--infer-batch", type=int, default=1000, help="inference batch size (default 1000)")
    b.add_argument("--arch", nargs="+", choices=sorted(RECIPES), default=["784-400-20", "784-512-2", "keras-conv"],
                   help="architectures to time (default the two dense examples' and the Keras conv VAE)")
    b.add_argument("--data", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vae", "mnist"),
                   help="folder with the MNIST IDX files, gzipped or not (default: vae's cache)")
    b.set_defaults(run=bench)
    n = sub.add_parser("nll", help="importance-weighted NLL of a model file, and its speed")
    n.add_argument("model", help="model file written by package vae (Bernoulli likelihood)")
    n.add_argument("--k", type=int, default=5000, help="importance samples per image (default 5000)")
    n.add_argument("--n", type=int, default=10000, help="test images (default all)")
    n.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    n.add_argument("--binarize", action="store_true", help="binarise the test images first")
    n.add_argument("--data", default=b.get_default("data"), help="folder with the MNIST IDX files")
    n.set_defaults(run=nll)
    c = sub.add_parser("score", help="negative ELBO and importance-weighted NLL of inputs the Go bench wrote, and their speed")
    c.add_argument("model", help="model file written by package vae (Bernoulli likelihood)")
    c.add_argument("inputs", help="safetensors file with the images `x` [n, input] and the noise `eps` [n, latent] of the ELBO check")
    c.add_argument("out", help="safetensors file to write each image's `elbo` (with eps) and `nll` to")
    c.add_argument("--k", type=int, default=100, help="importance samples per image (default 100)")
    c.add_argument("--nll-n", type=int, default=1000, help="the first N images get an NLL (default 1000)")
    c.add_argument("--batch", type=int, default=1000, help="ELBO batch size (default 1000)")
    c.add_argument("--repeats", type=int, default=3, help="timed passes of each; the best counts (default 3)")
    c.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    c.set_defaults(run=score)
    k = sub.add_parser("keras-conv", help="train the Keras example's convolutional VAE, the test loss per epoch")
    k.add_argument("--epochs", type=int, default=30, help="epochs (default 30, the example's)")
    k.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    k.add_argument("--seed", type=int, default=1, help="torch's seed (default 1)")
    k.add_argument("--data", default=b.get_default("data"), help="folder with the MNIST IDX files")
    k.set_defaults(run=keras_conv)
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.command in ("bench", "nll", "score", "keras-conv"):
        # OpenMP (torch's and OpenBLAS's) reads this once, when torch loads.
        os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
    sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch_vae import VAE, load_model, load_safetensors, read_idx_images, save_safetensors
    ARGS.run(ARGS)
