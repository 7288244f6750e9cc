"""PyTorch reference GPT for bench/gpt_compare.ts: the same architecture as lib/gpt.ts.

h0 = U·We + Wp (learned positions); each block, pre-LN (GPT-2):
    x <- x + MultiHead(LN1(x)) with a causal mask,   x <- x + FFN(LN2(x)),  FFN = GELU (exact, erf)
then a final LN and logits = h·Weᵀ (output tied to the token embedding). Biases everywhere,
LayerNorm eps 1e-5, no dropout. Training step = zero_grad, forward, cross-entropy, backward,
AdamW update (decay on the 2-D weights only, as nanoGPT does).

Generation (batch 1, greedy, from a one-token prompt until the context is full) two ways:
re-running the whole sequence for every new token, and with a KV cache (each layer keeps
its K and V; a new token attends to them without recomputing them).

Run by bench/gpt_compare.ts, which reads the one JSON line this prints on stdout:
    OMP_NUM_THREADS=1 python3 bench/torch_gpt.py --threads 1
PyTorch 1.13 (Debian's python3-torch) has no scaled_dot_product_attention, so attention is
written out as nanoGPT's "slow" path does.
"""

import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, dff):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.wq = nn.Linear(d, d)
        self.wk = nn.Linear(d, d)
        self.wv = nn.Linear(d, d)
        self.wo = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, dff)
        self.fc2 = nn.Linear(dff, d)

    def split(self, x):
        B, T, d = x.shape
        return x.view(B, T, self.heads, d // self.heads).transpose(1, 2)  # [B, h, T, dk]

    def attend(self, q, k, v, mask):
        """softmax(QKᵀ/√dk + M)·V; q [B, h, Tq, dk], k and v [B, h, Tk, dk]."""
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        if mask is not None:
            att = att.masked_fill(mask, float("-inf"))
        return F.softmax(att, dim=-1) @ v

    def forward(self, x, mask, cache=None):
        """x [B, T, d]; with `cache` (a dict holding this layer's k and v so far) the new
        positions attend to the cached ones too, and the cache grows by T."""
        B, T, d = x.shape
        h = self.ln1(x)
        q, k, v = self.split(self.wq(h)), self.split(self.wk(h)), self.split(self.wv(h))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        z = self.attend(q, k, v, mask).transpose(1, 2).contiguous().view(B, T, d)
        x = x + self.wo(z)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))  # F.gelu: exact (erf) GELU


class GPT(nn.Module):
    def __init__(self, vocab, ctx, layers, heads, d, dff):
        super().__init__()
        self.ctx = ctx
        self.we = nn.Embedding(vocab, d)
        self.wp = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([Block(d, heads, dff) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer(
            "future", torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), diagonal=1)
        )
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, caches=None, start=0):
        """ids [B, T] → logits [B, T, V]; positions start at `start` (the cache's length)."""
        T = ids.shape[1]
        x = self.we(ids) + self.wp(torch.arange(start, start + T, device=ids.device))
        # a query at position start+i may see keys 0 … start+i
        mask = self.future[start : start + T, : start + T] if T > 1 else None
        for i, block in enumerate(self.blocks):
            x = block(x, mask, None if caches is None else caches[i])
        return self.ln_f(x) @ self.we.weight.t()  # tied output: logits = h·Weᵀ


def matmul_gflops(n=1024, reps=10):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def blas_info():
    """The BLAS shared objects mapped into this process (after a matmul has run) and, for
    OpenBLAS, its build configuration and the CPU kernel it chose."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            path = fields[-1] if len(fields) >= 6 else ""
            if "blas" in path.lower():
                libs.add(os.path.realpath(path))
    info = {"libraries": sorted(libs)}
    openblas = [lib for lib in libs if "libopenblas" in lib]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        info["openblas_config"] = lib.openblas_get_config().decode()
        info["openblas_core"] = lib.openblas_get_corename().decode()
    return info


def train_steps(model, args):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.99),
    )
    g = torch.Generator().manual_seed(1)
    n = args.warmup + args.steps
    data = torch.randint(0, args.vocab, (n, args.batch, args.ctx + 1), generator=g)
    times, losses = [], []
    model.train()
    for i in range(n):
        x, y = data[i, :, :-1], data[i, :, 1:]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        times.append((time.perf_counter() - t0) * 1000)
    return times[args.warmup :], losses


@torch.no_grad()
def generate(model, n_new, cached):
    """Greedy generation from token 0; returns the ids (cached and re-forward must agree)."""
    ids = torch.zeros(1, 1, dtype=torch.long)
    if not cached:
        for _ in range(n_new):
            logits = model(ids)
            ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return ids[0].tolist()
    caches = [{} for _ in model.blocks]
    logits = model(ids, caches, 0)
    out = [0]
    for t in range(n_new):
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        out.append(nxt.item())
        if t < n_new - 1:
            logits = model(nxt, caches, len(out) - 1)
    return out


def tokens_per_second(model, n_new, cached, runs):
    for _ in range(2):
        generate(model, n_new, cached)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        generate(model, n_new, cached)
        times.append(time.perf_counter() - t0)
    return n_new / statistics.median(times)


@torch.no_grad()
def full_context_tokens_per_second(model, ctx, runs, per_run=20):
    """The steady state of re-forward generation past the context (nanoGPT's sample loop):
    each new token re-runs a full `ctx`-token window."""
    ids = torch.zeros(1, ctx, dtype=torch.long)
    for _ in range(5):
        model(ids)[:, -1].argmax(-1).item()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(per_run):
            model(ids)[:, -1].argmax(-1).item()
        times.append(time.perf_counter() - t0)
    return per_run / statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--ctx", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--gen-runs", type=int, default=5)
    p.add_argument("--probe", action="store_true", help="only the BLAS check and matmul speed")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gflops = matmul_gflops()
    if args.probe:
        print(json.dumps({
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": blas_info(),
            "matmul_gflops": gflops,
        }))
        return
    model = GPT(args.vocab, args.ctx, args.layers, args.heads, args.d, 4 * args.d)
    step_times, losses = train_steps(model, args)

    model.eval()
    n_new = args.ctx - 1
    same = generate(model, n_new, False) == generate(model, n_new, True)
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "blas": blas_info(),
        "matmul_gflops": gflops,
        "parameters": sum(p.numel() for p in model.parameters()),
        "step_ms": step_times,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "generated_tokens": n_new,
        "cache_matches_reforward": same,
        "reforward_tokens_per_s": tokens_per_second(model, n_new, False, args.gen_runs),
        "cached_tokens_per_s": tokens_per_second(model, n_new, True, args.gen_runs),
        "full_context_tokens_per_s": full_context_tokens_per_second(model, args.ctx, args.gen_runs),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
