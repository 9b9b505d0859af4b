#!/usr/bin/python3
"""torch_moe.py: the PyTorch anchor of bench/moe: the same MoE training step as bench_moe
(gate softmax, Zipf-skewed forced top-k routing with the gate's probabilities as combine
weights, 2-layer GELU experts, load-balancing loss, backward, SGD) written as the plain
loop over experts a PyTorch user writes, on the CPU (all cores: torch's intra-op threads).
Usage: torch_moe.py [s=1.0] [steps=40] [tokens=1024] [experts=16] [d_model=128]
                    [d_hidden=256] [top_k=2]"""
import math
import os
import sys
import time

import torch


def main():
    a = sys.argv[1:] + [None] * 7
    s = float(a[0] or 1.0)
    steps, n, E, D, H, K = (int(v) if v else d for v, d in
                            zip(a[1:7], (40, 1024, 16, 128, 256, 2)))
    torch.manual_seed(0)
    threads = int(os.environ.get("TORCH_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    wg = (torch.rand(D, E) * 2 - 1).div_(math.sqrt(D)).requires_grad_()
    bg = torch.zeros(E, requires_grad=True)
    w1 = (torch.rand(E, D, H) * 2 - 1).div_(math.sqrt(D)).requires_grad_()
    b1 = torch.zeros(E, H, requires_grad=True)
    w2 = (torch.rand(E, H, D) * 2 - 1).div_(math.sqrt(H)).requires_grad_()
    b2 = torch.zeros(E, D, requires_grad=True)
    params = [wg, bg, w1, b1, w2, b2]
    x = torch.rand(n, D) * 2 - 1
    dy = (torch.rand(n, D) * 2 - 1) / n
    zipf = torch.tensor([(e + 1) ** -s for e in range(E)], dtype=torch.float64)
    times = []
    for it in range(3 + steps):
        route = torch.multinomial(zipf.expand(n, E), K, replacement=False)
        t0 = time.perf_counter()
        p = torch.softmax(x @ wg + bg, dim=1)
        y = torch.zeros(n, D)
        for e in range(E):
            tok, _ = (route == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            h = torch.nn.functional.gelu(x[tok] @ w1[e] + b1[e], approximate="tanh")
            o = h @ w2[e] + b2[e]
            y = y.index_add(0, tok, p[tok, e].unsqueeze(1) * o)
        f = torch.bincount(route.flatten(), minlength=E).double() / (n * K)
        aux = 0.01 * E * (f.float() * p.mean(0)).sum()
        loss = (y * dy).sum() + aux
        loss.backward()
        with torch.no_grad():
            for q in params:
                q -= 1e-3 * q.grad
                q.grad = None
        if it >= 3:
            times.append(time.perf_counter() - t0)
    tot = sum(times)
    times.sort()
    p99 = times[max(0, math.ceil(0.99 * steps) - 1)]
    print(f"torch s={s:.2f} threads={threads}: {n * steps / tot:9.0f} tokens/s  "
          f"median {1e3 * times[steps // 2]:.2f} ms  p99 {1e3 * p99:.2f} ms")
    print(f"RESULT torch s={s:.2f} tps={n * steps / tot:.0f} p99_ms={1e3 * p99:.2f}")


if __name__ == "__main__":
    main()
