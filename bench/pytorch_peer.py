#!/usr/bin/env python3
"""The PyTorch peer of `nabla bench`: the same workloads, timed the same way, printed as the same JSON lines.

    apt-get install python3-torch libopenblas0-pthread       # Debian's PyTorch (1.13, CPU)
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/pytorch_peer.py [--threads 2] [--seconds 5]

Workloads (batch 128, Adam lr 1e-3, one fixed random batch so data loading is not measured):
  gemm    square SGEMM n = 1024, GFLOP/s
  mlp     784-256-128-10 with ReLU, samples/s
  cnn     Conv(1,32,3,p1) ReLU MaxPool2 Conv(32,64,3,p1) ReLU MaxPool2 Linear(3136,128) ReLU Linear(128,10), samples/s
  cnn-bn  the same with BatchNorm after each conv and the hidden Linear, Dropout(0.5) before the last Linear
  resnet  resnet:20 as `nabla bench resnet` builds it: 3x3 conv to 16 + BN + ReLU, three stages of three BasicBlocks
          (16, 32, 64 channels; stride 2 and a 1x1 conv + BN projection at the start of stages 2 and 3), global
          average pooling, Linear(64, 10)
Debian's PyTorch defaults to the reference BLAS and one thread; OpenBLAS and --threads fix both.
peak_rss_mb is the process's peak so far: give one workload per process to compare memory.
"""
import argparse
import json
import resource
import time

import torch
from torch import nn


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def timed(step, seconds, warm=5):
    for _ in range(warm):
        step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return median(times)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


def resnet(depth=20, classes=10):
    n = (depth - 2) // 6
    layers, cin = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, width in enumerate([16, 32, 64]):
        for b in range(n):
            layers.append(BasicBlock(cin, width, 2 if b == 0 and stage > 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def model(kind):
    if kind == "resnet":
        return resnet()
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    bn = kind == "cnn-bn"
    layers = [nn.Conv2d(1, 32, 3, padding=1)] + ([nn.BatchNorm2d(32)] if bn else []) + [nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(32, 64, 3, padding=1)] + ([nn.BatchNorm2d(64)] if bn else []) + [nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Flatten(), nn.Linear(64 * 7 * 7, 128)] + ([nn.BatchNorm1d(128)] if bn else []) + [nn.ReLU()]
    layers += ([nn.Dropout(0.5)] if bn else []) + [nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("workloads", nargs="*", default=["gemm", "mlp", "cnn", "cnn-bn"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for workload in args.workloads:
        if workload == "gemm":
            n = 1024
            a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
            seconds = timed(lambda: torch.mm(a, b, out=c), args.seconds)
            result = {"workload": "gemm", "gflops": round(2 * n ** 3 / seconds / 1e9, 1)}
        else:
            net = model(workload)
            net.train()
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))

            def step():
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(x), y).backward()
                opt.step()

            result = {"workload": workload, "samples_per_s": round(128 / timed(step, args.seconds), 1)}
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result["threads"] = torch.get_num_threads()
        result["torch"] = torch.__version__
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
