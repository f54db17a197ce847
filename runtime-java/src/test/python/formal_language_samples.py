#!/usr/bin/env python3
"""Samples of the official formal-language generators, for FormalLanguageOfficialSamplesTest.

Runs the official NX-AI/xlstm experiment code (read from a git checkout, not copied into this repository) and
records, per task, sequences with their prediction masks and the official FormLangDataset (mask + shift) output.
Our generators cannot reproduce numpy's streams, so the test checks our answer rule and our mask/shift on the
official sequences instead.

usage: python3 formal_language_samples.py /path/to/xlstm-git-dir out.json
needs: numpy, torch (CPU); torchmetrics is stubbed (only imported for metric classes that are not used).
"""
import json
import subprocess
import sys
import tempfile
import types
from pathlib import Path

git_dir, out = sys.argv[1], sys.argv[2]
tmp = Path(tempfile.mkdtemp())
files = subprocess.run(["git", "-C", git_dir, "ls-tree", "-r", "--name-only", "HEAD", "experiments"],
                       check=True, capture_output=True, text=True).stdout.split()
for f in files:
    if f.endswith(".py"):
        (tmp / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp / f).write_bytes(subprocess.run(["git", "-C", git_dir, "show", "HEAD:" + f], check=True,
                                             capture_output=True).stdout)
stub = types.ModuleType("torchmetrics")
stub.Metric = object
stub.MetricCollection = object
stub.Accuracy = object
sys.modules["torchmetrics"] = stub
sys.path.insert(0, str(tmp))

from experiments.data.formal_language.generate import GEN_FUNCS  # noqa: E402
from experiments.data.formal_language.formal_language_dataset import FormLangDataset  # noqa: E402

CONTEXT = 256
result = {"context_length": CONTEXT, "tasks": {}}
for task, vocab in [("parity", 3), ("modular_arithmetic", 10), ("cycle_navigation", 10), ("even_pairs", 3)]:
    samples = []
    for split, (lo, hi), count in [("train", (3, 40), 40), ("validation", (40, 256), 10)]:
        for seed in range(count):
            seq, mask = GEN_FUNCS[task](batch_size=1, vocab_size=vocab, min_sequence_length=lo,
                                        max_sequence_length=hi, context_length=CONTEXT, seed=1000 * len(split) + seed)
            ds = FormLangDataset([seq[0]], [mask[0]], context_length=CONTEXT, vocab_size=vocab, enable_mask=True)
            x, y = ds[0]
            seq, mask, x, y = [[int(v) for v in a] for a in (seq[0], mask[0], x, y)]
            # Keep the whole context for the first two samples of a split; cut the rest after the answer once the
            # tail is checked to be what padding gives (sequence/mask/input 0, target -1), to keep the file small.
            keep = CONTEXT if seed < 2 else max(i for i, m in enumerate(mask) if m) + 1
            assert all(v == 0 for a in (seq, mask) for v in a[keep:]) and all(v == 0 for v in x[keep - 1:])
            assert all(v == -1 for v in y[keep - 1:])
            samples.append({"split": split, "min": lo, "max": hi, "sequence": seq[:keep], "mask": mask[:keep],
                            "inputs": x[:keep - 1], "targets": y[:keep - 1]})
    result["tasks"][task] = {"vocab_size": vocab, "samples": samples}
Path(out).write_text(json.dumps(result, separators=(",", ":")))
print("wrote", out)
