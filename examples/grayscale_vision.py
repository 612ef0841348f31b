"""Grayscale vision, the original rcmlrs task: tell black images from white ones.

Images are generated here (dark or light with noise, so it is not trivial pixel by
pixel). With ``--folder DIR`` and Pillow installed they are written as PNG files, one
sub-folder per class, and read back with ``rc.data.load_images`` like a real data set.

    python examples/grayscale_vision.py [--small] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import numpy.typing as npt

import rcmlrs as rc


def make_images(
    n: int, size: int, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """n images (n, size, size, 1) in [0, 1] (channels last, as rc.data.load_images
    gives them): class 0 dark, class 1 light, with noise."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    base = np.where(y == 1, 0.7, 0.3)[:, None, None, None]
    x = np.clip(base + r.normal(0.0, 0.25, (n, size, size, 1)), 0.0, 1.0).astype(np.float32)
    return x, y


def write_folder(folder: str, x: npt.NDArray[np.float32], y: npt.NDArray[np.int64]) -> None:
    from PIL import Image

    for name in ("black", "white"):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
    for i, (img, c) in enumerate(zip(x, y, strict=True)):
        name = "white" if c else "black"
        Image.fromarray((img[:, :, 0] * 255).astype(np.uint8), "L").save(
            os.path.join(folder, name, f"{i:05d}.png")
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (tests)")
    ap.add_argument("--folder", help="write PNGs here and load them with rc.data.load_images")
    args = ap.parse_args(argv)
    n, size, epochs = (400, 8, 20) if args.small else (2000, 16, 10)
    x, y = make_images(n, size)
    if args.folder:
        write_folder(args.folder, x, y)
        x, y, classes = rc.data.load_images(args.folder, size)  # (n, H, W, 1), (n,)
        print(f"loaded {x.shape[0]} images of classes {classes} from {args.folder}")
    xtr, xte, ytr, yte = rc.data.train_test_split(x, y, 0.25, seed=0)
    # Flatten reads each (H, W, 1) image as H * W features
    model = rc.nn.Sequential([rc.nn.Flatten(), rc.nn.Dense(16, "relu"), rc.nn.Dense(2, "softmax")])
    model.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    model.fit(xtr, ytr, epochs=epochs, batch_size=32, seed=0, verbose=0 if args.small else 1)
    res = model.evaluate(xte, yte)
    print(f"test accuracy {res['accuracy']:.3f} (loss {res['loss']:.4f})")
    return 0 if res["accuracy"] > 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
