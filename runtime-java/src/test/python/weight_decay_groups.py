#!/usr/bin/env python3
"""Official weight-decay groups for a few model configurations, for WeightDecayRuleTest.

Builds the official xLSTMLMModel (NX-AI/xlstm, read from a git checkout, not copied into this repository) for each
configuration below and records the parameter names of the two groups that `_create_weight_decay_optim_groups`
returns (the groups the official experiments/main.py hands to AdamW), in `named_parameters()` order.

usage: python3 weight_decay_groups.py /path/to/xlstm-git-dir out.json      (needs torch, CPU)
"""
import io
import json
import sys
import tarfile
import subprocess
import tempfile

git_dir, out = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp()
tarfile.open(fileobj=io.BytesIO(subprocess.run(["git", "-C", git_dir, "archive", "HEAD", "xlstm"], check=True,
                                               capture_output=True).stdout)).extractall(tmp)
sys.path.insert(0, tmp)

from xlstm.xlstm_lm_model import xLSTMLMModel, xLSTMLMModelConfig  # noqa: E402
from xlstm.blocks.mlstm.block import mLSTMBlockConfig  # noqa: E402
from xlstm.blocks.mlstm.layer import mLSTMLayerConfig  # noqa: E402
from xlstm.blocks.slstm.block import sLSTMBlockConfig  # noqa: E402
from xlstm.blocks.slstm.layer import sLSTMLayerConfig  # noqa: E402
from xlstm.components.feedforward import FeedForwardConfig  # noqa: E402


def mlstm():
    return mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=4))


def slstm(conv=4, ffn=True):
    return sLSTMBlockConfig(slstm=sLSTMLayerConfig(backend="vanilla", num_heads=4, conv1d_kernel_size=conv),
                            feedforward=FeedForwardConfig() if ffn else None)


CASES = {
    "mixed_tied": dict(num_blocks=3, mlstm_block=mlstm(), slstm_block=slstm(), slstm_at=[1], tie_weights=True),
    "mixed_bias_decay_embedding": dict(num_blocks=2, mlstm_block=mlstm(), slstm_block=slstm(), slstm_at=[0],
                                       bias=True, weight_decay_on_embedding=True),
    "slstm_only_noconv_noffn": dict(num_blocks=2, mlstm_block=None, slstm_block=slstm(conv=0, ffn=False),
                                    slstm_at="all", add_post_blocks_norm=False),
    "mlstm_only_tied_decay_embedding": dict(num_blocks=2, mlstm_block=mlstm(), tie_weights=True,
                                            weight_decay_on_embedding=True),
}

result = {}
for name, kw in CASES.items():
    flags = {k: kw.get(k, False) for k in ("tie_weights", "weight_decay_on_embedding")}
    model = xLSTMLMModel(xLSTMLMModelConfig(vocab_size=64, context_length=16, embedding_dim=64, **kw))
    decay, no_decay = model._create_weight_decay_optim_groups()
    decay_ids, no_decay_ids = {id(p) for p in decay}, {id(p) for p in no_decay}
    named = list(model.named_parameters())
    assert len(decay_ids) + len(no_decay_ids) == len(named)
    result[name] = dict(flags, parameters=[n for n, _ in named],
                        shapes=[list(p.shape) for _, p in named],
                        weight_decay_params=[n for n, p in named if id(p) in decay_ids],
                        no_weight_decay_params=[n for n, p in named if id(p) in no_decay_ids],
                        state_dict=list(model.state_dict().keys()))
with open(out, "w") as f:
    json.dump(result, f, indent=1)
print("wrote", out)
