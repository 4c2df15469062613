#!/bin/bash
cd "$(dirname "$0")/.."
echo "commit $(git log --oneline -1 | cut -c1-7) start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
cd out/bench
for r in 1 2; do
for m in mlp cnn cnn-bn; do echo "== default $m round $r"; ./Nabla.Bench $m --samples 5 2>&1 | grep -E "^\| (mlp|cnn)|Nabla( autograd)?:|TorchSharp:|eval-mode"; done
for m in mlp cnn cnn-bn; do echo "== glibc $m round $r"; GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296 ./Nabla.Bench $m --samples 5 2>&1 | grep -E "^\| (mlp|cnn)|Nabla( autograd)?:"; done
done
cd ../..
for w in gemm mlp cnn cnn-bn resnet; do echo "== nabla bench $w"; out/nabla/Nabla.Cli bench $w --json; done
for i in 1 2 3; do out/nabla/Nabla.Cli bench mlp --seconds 0.1 --json; done
for w in gemm mlp cnn cnn-bn resnet; do echo "== pytorch $w"; LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/pytorch_peer.py --threads 2 --seconds 5 $w 2>&1 | tail -2; done
echo "end $(date -u +%H:%M:%S)"
