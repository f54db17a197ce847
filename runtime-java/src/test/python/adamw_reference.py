#!/usr/bin/env python3
"""torch reference trajectory for AdamWReferenceTest: torch.optim.AdamW with the official two parameter groups,
the official LinearWarmupCosineAnnealing (experiments/lr_scheduler.py, read from a NX-AI/xlstm git checkout, not
copied into this repository) and torch.nn.utils.clip_grad_norm_, stepped as the official experiments/main.py does
(clip, optimizer.step(), lr_scheduler.step()).

Writes a safetensors file: init.<p>, grad.<k>.<p> (before clipping), param.<k>.<p> (after update k), exp_avg.<p>,
exp_avg_sq.<p> (after the last update), lr (per update, f64), grad_norm (per update, f64); metadata holds settings.

usage: python3 adamw_reference.py /path/to/xlstm-git-dir out.safetensors      (needs torch, CPU)
"""
import json
import struct
import subprocess
import sys
import types

import torch

git_dir, out = sys.argv[1], sys.argv[2]
source = subprocess.run(["git", "-C", git_dir, "show", "HEAD:experiments/lr_scheduler.py"], check=True,
                        capture_output=True, text=True).stdout
lr_scheduler = types.ModuleType("lr_scheduler")
exec(compile(source, "experiments/lr_scheduler.py", "exec"), lr_scheduler.__dict__)

SETTINGS = dict(lr=0.01, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.1, warmup_steps=2, decay_until_step=5,
                lr_decay_factor=0.1, max_grad_norm=1.0, steps=7)
PARAMS = [  # name, shape, official group (as WeightDecayRule decides from the name)
    ("lm_head.weight", [4, 3], "decay"),
    ("xlstm_block_stack.blocks.0.xlstm_norm.weight", [5], "no_decay"),
    ("xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_", [2, 3, 2], "no_decay"),
    ("xlstm_block_stack.blocks.0.xlstm.conv1d.conv.weight", [3, 1, 4], "decay"),
]
GRAD_SCALES = [0.1, 3.0, 0.5, 5.0, 0.05, 2.0, 1.0]  # steps 1, 3, 5 exceed the max norm and are clipped

gen = torch.Generator().manual_seed(1234)
params = {n: torch.nn.Parameter(torch.randn(s, generator=gen)) for n, s, _ in PARAMS}
tensors = {f"init.{n}": p.detach().clone() for n, p in params.items()}
opt = torch.optim.AdamW(
    [{"weight_decay": SETTINGS["weight_decay"], "params": [params[n] for n, _, g in PARAMS if g == "decay"]},
     {"weight_decay": 0.0, "params": [params[n] for n, _, g in PARAMS if g == "no_decay"]}],
    lr=SETTINGS["lr"], betas=tuple(SETTINGS["betas"]), eps=SETTINGS["eps"])
sched = lr_scheduler.LinearWarmupCosineAnnealing(opt, SETTINGS["warmup_steps"], SETTINGS["decay_until_step"],
                                                 SETTINGS["lr"], SETTINGS["lr_decay_factor"] * SETTINGS["lr"])
lrs, norms = [], []
for k in range(SETTINGS["steps"]):
    for n, p in params.items():
        g = torch.randn(p.shape, generator=gen) * GRAD_SCALES[k]
        g.view(-1)[0] = 0.0  # a coordinate that never moves: v stays 0, the update is decay only
        p.grad = g
        tensors[f"grad.{k}.{n}"] = g.clone()
    norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), SETTINGS["max_grad_norm"])))
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
    for n, p in params.items():
        tensors[f"param.{k}.{n}"] = p.detach().clone()
for n, p in params.items():
    tensors[f"exp_avg.{n}"] = opt.state[p]["exp_avg"].clone()
    tensors[f"exp_avg_sq.{n}"] = opt.state[p]["exp_avg_sq"].clone()
tensors["lr"] = torch.tensor(lrs, dtype=torch.float64)
tensors["grad_norm"] = torch.tensor(norms, dtype=torch.float64)

# safetensors layout: u64 header length, JSON header, little-endian data
header, blobs, offset = {"__metadata__": {"settings": json.dumps(SETTINGS), "torch": torch.__version__}}, [], 0
for name, t in tensors.items():
    t = t.contiguous()
    b = t.numpy().astype("<f4" if t.dtype == torch.float32 else "<f8").tobytes()
    header[name] = {"dtype": "F32" if t.dtype == torch.float32 else "F64", "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print("wrote", out, "lr", lrs, "norms", norms)
