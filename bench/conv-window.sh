#!/bin/bash
# Issue 23's measurement window: three alternating rounds of resnet:20 (nabla bench, Debian's PyTorch, and
# Nabla.Bench against TorchSharp in one process), cnn and cnn-bn against TorchSharp and PyTorch, and mlp against a
# baseline build (no regression). Run it twice: as is (AVX-512 where the CPU has it) and with
#   DOTNET_EnableAVX512=0 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
# (the AVX2 path for Nabla and the peers alike; DOTNET_EnableAVX512F=0 does nothing on .NET 10).
# Needs: out/nabla (dotnet publish src/Nabla.Cli -c Release -o out/nabla), out/bench (bench/README.md: publish and
# patch Nabla.Bench), BASE=path/to/an/older/Nabla.Cli.dll for the baseline, python3-torch.
cd "$(dirname "$0")/.."
BASE=${BASE:?set BASE to the baseline build\'s Nabla.Cli.dll}
echo "commit $(git log --oneline -1 | cut -c1-7) start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
for r in 1 2 3; do
  echo "== round $r $(date -u +%H:%M:%S)"
  echo -n "nabla-resnet "; out/nabla/Nabla.Cli bench resnet --seconds 8 --json
  echo -n "base-resnet "; dotnet "$BASE" bench resnet --seconds 8 --json
  echo -n "torch-resnet "; /usr/bin/python3 bench/pytorch_peer.py --seconds 8 resnet
  for w in resnet cnn cnn-bn; do (cd out/bench && ./Nabla.Bench $w --samples 5 2>/dev/null | grep "^| $w "); done
  echo -n "torch-cnn "; /usr/bin/python3 bench/pytorch_peer.py --seconds 5 cnn cnn-bn | tr '\n' ' '; echo
  echo -n "mlp-base "; dotnet "$BASE" bench mlp --seconds 5 --json
  echo -n "mlp-nabla "; out/nabla/Nabla.Cli bench mlp --seconds 5 --json
  echo -n "gemm "; out/nabla/Nabla.Cli bench gemm --json
done
(cd out/bench && ./Nabla.Bench conv --net resnet --no-torch --samples 5 2>&1 | grep "^  " && ./Nabla.Bench conv --net cnn --no-torch --samples 5 2>&1 | grep "^  ")
echo "end $(date -u +%H:%M:%S)"
