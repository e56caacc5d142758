"""Writes torch_golden.json: trajectories of torch.optim optimizers on a
quadratic, the reference for optim's TestTorchGolden.

Each case minimises f(x) = 1/2 sum a*(x-c)**2 over a few parameters, with the
gradient a*(x-c) computed in float32 (sub, then mul) so that the Go test can
recompute it exactly, and records the parameters after the first step and
after the last, and the optimizer's final state.

Run with the PyTorch the project is checked against (Debian's python3-torch,
1.13): /usr/bin/python3 torch_golden.py > torch_golden.json
"""
import json

import torch

torch.manual_seed(1)

SHAPES = [("enc.w", [3, 5]), ("enc.b", [37]), ("z", [1])]

CASES = [
    # name, optimizer, Go Config, torch kwargs, steps
    ("adam", "adam", {}, {}, 300),
    ("adam-hyper", "adam",
     {"LR": 0.02, "Beta1": 0.8, "Beta2": 0.99, "Eps": 1e-4, "weight_decay": 0.01},
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-4, "weight_decay": 0.01}, 300),
    ("adam-eps1e-7", "adam", {"LR": 0.1, "Eps": 1e-7}, {"lr": 0.1, "eps": 1e-7}, 50),
    ("rmsprop", "rmsprop", {}, {}, 300),
    ("rmsprop-momentum", "rmsprop",
     {"LR": 0.003, "Alpha": 0.9, "Eps": 1e-6, "Momentum": 0.9, "weight_decay": 0.001},
     {"lr": 0.003, "alpha": 0.9, "eps": 1e-6, "momentum": 0.9, "weight_decay": 0.001}, 300),
    ("sgd", "sgd", {"LR": 0.005}, {"lr": 0.005}, 300),
    ("sgd-momentum", "sgd", {"LR": 0.002, "Momentum": 0.9}, {"lr": 0.002, "momentum": 0.9}, 300),
    ("sgd-nesterov", "sgd",
     {"LR": 0.002, "Momentum": 0.7, "Nesterov": True, "weight_decay": 0.05},
     {"lr": 0.002, "momentum": 0.7, "nesterov": True, "weight_decay": 0.05}, 300),
]

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}

# Torch's names for the buffers, and ours.
BUFFERS = {
    "adam": [("exp_avg", "adam.m"), ("exp_avg_sq", "adam.v")],
    "rmsprop": [("square_avg", "rmsprop.square_avg"), ("momentum_buffer", "rmsprop.momentum_buffer")],
    "sgd": [("momentum_buffer", "sgd.momentum_buffer")],
}

SGD_DEFAULT_LR = 1e-3  # SGD has no default in torch 1.13; optim's default


def floats(t):
    return [float(x) for x in t.flatten().tolist()]


def run(name, kind, config, kwargs, steps):
    params, a, c = [], [], []
    for pname, shape in SHAPES:
        n = 1
        for s in shape:
            n *= s
        params.append(torch.nn.Parameter((torch.randn(shape) * 2).float()))
        # Curvatures spread over five decades, so that some steps are tiny.
        a.append(torch.exp(torch.empty(shape).uniform_(-7, 4.6)).float())
        c.append((torch.randn(shape) * 3).float())
    initial = [floats(p.detach()) for p in params]
    if kind == "sgd" and "lr" not in kwargs:
        kwargs = dict(kwargs, lr=SGD_DEFAULT_LR)
    opt = OPTIMIZERS[kind](params, **kwargs)
    first = None
    for step in range(steps):
        with torch.no_grad():
            for p, ai, ci in zip(params, a, c):
                p.grad = ai * (p.detach() - ci)
        opt.step()
        if step == 0:
            first = [floats(p.detach()) for p in params]
    state = {}
    for (pname, _), p in zip(SHAPES, params):
        st = opt.state[p]
        for theirs, ours in BUFFERS[kind]:
            if theirs in st and st[theirs] is not None:
                state[ours + "/" + pname] = floats(st[theirs])
    return {
        "name": name,
        "optimizer": kind,
        "config": config,
        "steps": steps,
        "params": [
            {"name": pname, "shape": shape, "value": v, "a": floats(ai), "c": floats(ci)}
            for (pname, shape), v, ai, ci in zip(SHAPES, initial, a, c)
        ],
        "after_first": first,
        "after_last": [floats(p.detach()) for p in params],
        "state": state,
    }


out = {"torch_version": torch.__version__, "cases": [run(*c) for c in CASES]}
print(json.dumps(out, indent=1))
