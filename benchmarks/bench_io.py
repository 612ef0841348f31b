"""Save/load throughput of rcmlrs's binary and JSON files, side by side with
numpy.save/np.load (and np.savez for several arrays) and safetensors.numpy, in one process.

    PYTHONPATH=. python benchmarks/bench_io.py [--mb 100] [--json-mb 8] [--repeat 5] [--dir D]

MB/s counts float32 payload bytes (1 MB = 1e6 bytes). Each figure is the best of
``--repeat`` runs; loads read files the previous save left in the page cache, so they
measure the software path (parse + copy), not the disk. rcmlrs saves fsync the file
(part of the atomic-save guarantee); numpy and safetensors saves do not, so a
"rcmlrs binary (no fsync)" row shows the same save without it for a fair comparison,
and "load verify=False" a load that checks the structure but skips the CRC-32.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

import rcmlrs as rc
from rcmlrs import io as rio


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(name, nbytes, save_s, load_s):
    mb = nbytes / 1e6
    save = f"{mb / save_s:8.1f} MB/s" if save_s else f"{'-':>8s}     "
    save_ms = f"{save_s * 1e3:8.1f}" if save_s else f"{'-':>8s}"
    print(
        f"{name:34s} {mb:8.1f} MB  save {save}  load {mb / load_s:8.1f} MB/s"
        f"  ({save_ms} / {load_s * 1e3:7.1f} ms)"
    )


def make(mb, pieces, seed):
    n = int(mb * 1e6 / 4)
    rng = np.random.default_rng(seed)
    per = n // pieces
    cols = 1024
    rows = max(1, per // cols)
    return [rng.standard_normal((1, rows, cols)).astype(np.float32) for _ in range(pieces)]


def bench_set(label, arrays, folder, repeat, with_json):
    tensors = [rc.from_numpy(a) for a in arrays]
    nbytes = sum(a.nbytes for a in arrays)
    print(f"\n== {label}: {len(arrays)} tensor(s), {nbytes / 1e6:.1f} MB of float32")
    p = os.path.join(folder, "w.rcmlrs")
    row(
        "rcmlrs binary (atomic, fsync)",
        nbytes,
        best(lambda: rc.save_tensors_binary(p, tensors), repeat),
        best(lambda: rc.load_state_binary(p), repeat),
    )
    out = rc.load_state_binary(p)
    assert all(
        np.array_equal(a.view(np.uint32), t.numpy().view(np.uint32))
        for a, t in zip(arrays, out, strict=True)
    )

    row(
        "rcmlrs binary, load verify=False",
        nbytes,
        None,
        best(lambda: rc.load_state_binary(p, verify=False), repeat),
    )

    real_fsync = os.fsync
    os.fsync = lambda fd: None
    try:
        s = best(lambda: rc.save_tensors_binary(p, tensors), repeat)
    finally:
        os.fsync = real_fsync
    row("rcmlrs binary (no fsync)", nbytes, s, best(lambda: rc.load_state_binary(p), repeat))

    if len(arrays) == 1:
        q = os.path.join(folder, "w.npy")
        row(
            "numpy save/load (.npy)",
            nbytes,
            best(lambda: np.save(q, arrays[0]), repeat),
            best(lambda: np.load(q), repeat),
        )
    else:
        q = os.path.join(folder, "w.npz")
        d = {f"a{i}": a for i, a in enumerate(arrays)}

        def npz_load():
            with np.load(q) as z:
                return [z[k] for k in z.files]

        row(
            "numpy savez/load (.npz, uncompr.)",
            nbytes,
            best(lambda: np.savez(q, **d), repeat),
            best(npz_load, repeat),
        )
    try:
        import safetensors.numpy as stn
    except ImportError:
        print("safetensors not installed: skipped")
    else:
        q = os.path.join(folder, "w.safetensors")
        d = {f"t{i:04d}": a for i, a in enumerate(arrays)}
        row(
            "safetensors.numpy",
            nbytes,
            best(lambda: stn.save_file(d, q), repeat),
            best(lambda: stn.load_file(q), repeat),
        )

    if with_json:
        q = os.path.join(folder, "w.json")
        row(
            "rcmlrs JSON",
            nbytes,
            best(lambda: rc.save_tensors_json(q, tensors), repeat),
            best(lambda: rc.load_state_json(q), repeat),
        )
        print(f"{'':34s} (JSON file {os.path.getsize(q) / 1e6:.1f} MB)")
        r = os.path.join(folder, "w.plain.json")

        def plain_save():
            with open(r, "w") as f:
                json.dump([a.tolist() for a in arrays], f)

        def plain_load():
            with open(r) as f:
                return [np.array(x, np.float32) for x in json.load(f)]

        row(
            "json.dump(a.tolist()) (reference)",
            nbytes,
            best(plain_save, repeat),
            best(plain_load, repeat),
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0, help="binary payload size")
    ap.add_argument("--json-mb", type=float, default=8.0, help="JSON payload size")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    args = ap.parse_args()
    print(f"rcmlrs {rc.__version__}, numpy {np.__version__}, io module {rio.__file__}")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        print(f"files in {folder}")
        bench_set("binary, one big tensor", make(args.mb, 1, 0), folder, args.repeat, False)
        bench_set("binary, 25 tensors", make(args.mb, 25, 1), folder, args.repeat, False)
        bench_set(
            "JSON and binary, 4 tensors",
            make(args.json_mb, 4, 2),
            folder,
            max(1, min(args.repeat, 3)),
            True,
        )


if __name__ == "__main__":
    main()
