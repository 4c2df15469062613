#!/usr/bin/env python3
"""Builds the stratified Fashion-MNIST subset that Nabla embeds as its default dataset.

Reads the official gzipped IDX files (Debian: apt-get install dataset-fashion-mnist) and writes, next to
this script, train-*/t10k-* gzipped IDX files holding TRAIN_PER_CLASS images of every class from the
official train split and TEST_PER_CLASS of every class from the official test split.

Selection: random.Random(SEED); for each split and each class 0..9 (in that order) rng.sample() picks
the images among that class's indices; the picked indices of all classes are then concatenated and
rng.shuffle()d so that classes are interleaved. The gzip files are written with mtime=0, so running the
script again gives byte-identical files. Standard library only.

Usage: python3 make_subset.py [SOURCE_DIR]   (default /usr/share/datasets/fashion-mnist)
"""
import gzip
import os
import random
import struct
import sys

SEED = 20170825  # Fashion-MNIST's release date; fixed so the subset is reproducible
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
CLASSES = 10
SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path, dims_expected):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08 and ndim == dims_expected, path
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    payload = data[4 + 4 * ndim:]
    size = 1
    for d in dims:
        size *= d
    assert len(payload) == size, path
    return dims, payload


def write_idx(path, dims, payload):
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header + payload)


def subset(rng, split, per_class):
    (n, rows, cols), images = read_idx(os.path.join(SOURCE, f"{split}-images-idx3-ubyte.gz"), 3)
    (n_labels,), labels = read_idx(os.path.join(SOURCE, f"{split}-labels-idx1-ubyte.gz"), 1)
    assert n == n_labels
    picked = []
    for c in range(CLASSES):
        of_class = [i for i in range(n) if labels[i] == c]
        picked.extend(rng.sample(of_class, per_class))
    rng.shuffle(picked)
    size = rows * cols
    out_images = b"".join(images[i * size:(i + 1) * size] for i in picked)
    out_labels = bytes(labels[i] for i in picked)
    write_idx(os.path.join(HERE, f"{split}-images-idx3-ubyte.gz"), (len(picked), rows, cols), out_images)
    write_idx(os.path.join(HERE, f"{split}-labels-idx1-ubyte.gz"), (len(picked),), out_labels)
    print(f"{split}: {len(picked)} images ({per_class} per class), {rows}x{cols}")


def main():
    rng = random.Random(SEED)
    subset(rng, "train", TRAIN_PER_CLASS)
    subset(rng, "t10k", TEST_PER_CLASS)
    total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE) if f.endswith(".gz"))
    print(f"total gzipped size: {total} bytes")


if __name__ == "__main__":
    main()
