#!/usr/bin/python3
# torch_fmnist.py: the anchor of bench/nn/run.sh: the same MLP / CNN as samples/nn/fmnist.c
# (same layers, batch size, optimiser, learning rate, dropout, data order per epoch is a
# seeded shuffle) trained with PyTorch on the CPU. Prints lines in fmnist's format.
import argparse, gzip, struct, sys, time
import numpy as np
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--model", default="mlp")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--limit", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

def idx(images, labels):
    with gzip.open(images) as f:
        _, n, r, c = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, r, c).astype(np.float32) / 255
    with gzip.open(labels) as f:
        struct.unpack(">II", f.read(8))
        y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)

xtr, ytr = idx(a.data + "/train-images-idx3-ubyte.gz", a.data + "/train-labels-idx1-ubyte.gz")
xte, yte = idx(a.data + "/t10k-images-idx3-ubyte.gz", a.data + "/t10k-labels-idx1-ubyte.gz")
n = a.limit if 0 < a.limit < len(xtr) else len(xtr)
if a.model == "cnn":
    model = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
                          nn.Linear(128, 10))
else:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=a.lr)
lossf = nn.CrossEntropyLoss()
steps = n // a.batch
print(f"torch: {a.model}, {sum(p.numel() for p in model.parameters())} parameters, "
      f"{torch.get_num_threads()} thread(s), batch {a.batch}, Adam lr {a.lr}, {steps} steps/epoch")
tot_t = tot_s = 0.0
g = torch.Generator().manual_seed(a.seed)
for e in range(a.epochs):
    model.train()
    perm = torch.randperm(n, generator=g)
    t0 = time.perf_counter()
    ls = 0.0
    for s in range(steps):
        b = perm[s * a.batch:(s + 1) * a.batch]
        opt.zero_grad()
        loss = lossf(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        ls += loss.item()
    dt = time.perf_counter() - t0
    tot_t += dt
    tot_s += steps * a.batch
    model.eval()
    with torch.no_grad():
        acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                  for i in range(0, len(xte), 1000)) / len(xte)
    print(f"epoch {e + 1}  loss {ls / max(steps, 1):.4f}  test acc {acc:.4f}  {dt:.1f} s  "
          f"{steps * a.batch / dt:.0f} samples/s")
    sys.stdout.flush()
print(f"final: test accuracy {acc:.4f}  training {tot_t:.1f} s  {tot_s / tot_t:.0f} samples/s")
