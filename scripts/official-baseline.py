#!/usr/bin/env python3
"""Times the official xLSTM code (NX-AI/xlstm's `xlstm_large` model on NX-AI/mlstm_kernels' Triton kernels) on the
model `xlstm bench recipes/bench/xlstm-7b-arch-d768.json` measures, so that both can be compared on one GPU:
training tokens/s (8 x 2048, fp32 master weights, bf16 autocast, clip, fused AdamW), prefill of 128 tokens, greedy
decode at batch 1 and 16 -- eager, as the official `generate` runs it, and with the step captured in a CUDA graph.

Needs torch with CUDA, triton, einops, and the two official packages: installed (`pip install xlstm mlstm_kernels`)
or as source trees named by --xlstm-src / --kernels-src (the checkouts' top folders). Nothing of the official code
is part of this repository: put the checkouts in the git-ignored .ref/ (`git clone https://github.com/NX-AI/xlstm
.ref/xlstm`, the same for NX-AI/mlstm_kernels into .ref/mlstm_kernels); `scripts/gpu-check.sh run` runs this script
when they are there. Prints one JSON object per measurement.

    python3 scripts/official-baseline.py --xlstm-src .ref/xlstm --kernels-src .ref/mlstm_kernels

The default chunkwise kernel is the official config's, "chunkwise--triton_limit_chunk"; "chunkwise--triton_xl_chunk"
made Triton's compiler abort (an LLVM assertion) with PyTorch 2.11 on an H200, 2026-12-04.
"""
import argparse
import json
import statistics
import sys
import time
import types


def import_official(xlstm_src, kernels_src):
    if kernels_src:
        sys.path.insert(0, kernels_src)
    if xlstm_src:
        # Only the xlstm_large subpackage is needed; skip the package's __init__, which imports every block type
        # (and their optional dependencies).
        package = types.ModuleType("xlstm")
        package.__path__ = [xlstm_src.rstrip("/") + "/xlstm"]
        sys.modules["xlstm"] = package
    from xlstm.xlstm_large.model import xLSTMLarge, xLSTMLargeConfig
    return xLSTMLarge, xLSTMLargeConfig


def config(cls, args, mode):
    return cls(embedding_dim=args.dim, num_heads=args.heads, num_blocks=args.blocks, vocab_size=args.vocab,
               chunkwise_kernel=args.chunkwise_kernel, sequence_kernel="native_sequence__triton",
               step_kernel=args.step_kernel, mode=mode, chunk_size=64,
               return_last_states=True)  # the layer unpacks (h, state) in every mode


def timed(torch, fn, runs, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(**fields):
    print(json.dumps(fields), flush=True)


def train(torch, model_cls, cfg_cls, args):
    torch.manual_seed(0)
    model = model_cls(config(cfg_cls, args, "train")).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, fused=True)
    x = torch.randint(0, args.vocab, (args.batch, args.seq), device="cuda")
    y = torch.randint(0, args.vocab, (args.batch, args.seq), device="cuda")

    def step():
        for _ in range(args.train_steps):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits, _ = model(x)
            loss = torch.nn.functional.cross_entropy(logits.float().view(-1, args.vocab), y.view(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

    seconds = timed(torch, step, args.runs, 1)
    report(measure="train", batch=args.batch, seq=args.seq, tokens_per_s=args.batch * args.seq * args.train_steps / seconds)
    del model, opt


def inference(torch, model_cls, cfg_cls, args):
    torch.manual_seed(0)
    model = model_cls(config(cfg_cls, args, "inference")).cuda().to(torch.bfloat16).eval()
    with torch.no_grad():
        prompt = torch.randint(0, args.vocab, (1, args.prefill), device="cuda")
        seconds = timed(torch, lambda: model(prompt), args.runs, 2)
        report(measure="prefill", batch=1, tokens=args.prefill, tokens_per_s=args.prefill / seconds)
        for batch in args.decode_batches:
            decode(torch, model, batch, args)


def decode(torch, model, batch, args):
    first = torch.randint(0, args.vocab, (batch, 1), device="cuda")
    _, state = model(first)                           # the state tensors, updated in place from here on

    def eager():
        token = first
        for _ in range(args.gen_tokens):
            logits, _ = model(token, state)
            token = logits[:, -1:].argmax(-1)

    seconds = timed(torch, eager, args.runs, 1)
    report(measure="decode", mode="eager", batch=batch, tokens_per_s=batch * args.gen_tokens / seconds)

    try:
        token = first.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):                 # warm the allocator and Triton's caches off the graph
            for _ in range(3):
                logits, _ = model(token, state)
                token.copy_(logits[:, -1:].argmax(-1))
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logits, _ = model(token, state)
            token.copy_(logits[:, -1:].argmax(-1))

        def replay():
            for _ in range(args.gen_tokens):
                graph.replay()

        seconds = timed(torch, replay, args.runs, 1)
        report(measure="decode", mode="cuda-graph", batch=batch, tokens_per_s=batch * args.gen_tokens / seconds)
    except Exception as e:                            # a baseline that cannot be captured is reported, not fatal
        report(measure="decode", mode="cuda-graph", batch=batch, error=f"{type(e).__name__}: {e}"[:300])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--xlstm-src", help="checkout of NX-AI/xlstm (else the installed package)")
    p.add_argument("--kernels-src", help="checkout of NX-AI/mlstm_kernels (else the installed package)")
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--vocab", type=int, default=50304)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--train-steps", type=int, default=5, help="training steps per timed run")
    p.add_argument("--prefill", type=int, default=128)
    p.add_argument("--gen-tokens", type=int, default=256)
    p.add_argument("--decode-batches", type=int, nargs="+", default=[1, 16])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunkwise-kernel", default="chunkwise--triton_limit_chunk")
    p.add_argument("--step-kernel", default="triton", choices=["triton", "native"])
    p.add_argument("--skip-train", action="store_true")
    args = p.parse_args()

    import torch
    model_cls, cfg_cls = import_official(args.xlstm_src, args.kernels_src)
    report(measure="device", name=torch.cuda.get_device_name(), torch=torch.__version__)
    if not args.skip_train:
        train(torch, model_cls, cfg_cls, args)
    inference(torch, model_cls, cfg_cls, args)


if __name__ == "__main__":
    main()
