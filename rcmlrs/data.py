"""rc.data: load data sets into rcmlrs tensors, and cut them into mini-batches.

- ``load_csv(path, target=-1, header=True)`` -> ``(x, y)``: x ``(1, samples, features)``,
  y ``(1, samples, 1)`` (or None with ``target=None``). Errors name the line and column.
- ``load_images(folder, size, grayscale=True)`` -> ``(x, y, class_names)``: one sub-folder
  per class; x ``(samples, height, width)`` (``width * 3`` interleaved RGB columns in
  colour), values in [0, 1]; y ``(1, samples, 1)`` class indices. Needs Pillow
  (``pip install "rcmlrs[images]"``).
- ``batches(x, y, batch_size=32, shuffle=True, seed=None)`` yields ``(x_batch, y_batch)``.
- ``train_test_split(x, y, test_fraction=0.2, seed=None)``.
"""

from __future__ import annotations

import csv
import os
from typing import TYPE_CHECKING, Any, overload

import rcmlrs
from rcmlrs._tensor import RamTensor, ShapeError

if TYPE_CHECKING:
    import numpy
    from numpy.typing import NDArray

    _F32 = NDArray[numpy.float32]

__all__ = ["batches", "load_csv", "load_images", "train_test_split"]

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def _parse_float(cell: str, path, line: int, col: int, name):
    try:
        return float(cell)
    except ValueError:
        label = f" ({name!r})" if name else ""
        raise ValueError(
            f"load_csv: {os.fspath(path)} line {line}, column {col + 1}{label}: "
            f"cannot read {cell.strip()!r} as a number"
        ) from None


@overload
def load_csv(
    path: str | os.PathLike[str], target: None, header: bool = True, delimiter: str = ","
) -> tuple[RamTensor, None]: ...
@overload
def load_csv(
    path: str | os.PathLike[str], target: int | str = -1, header: bool = True, delimiter: str = ","
) -> tuple[RamTensor, RamTensor]: ...
def load_csv(path, target=-1, header=True, delimiter=",") -> tuple[RamTensor, RamTensor | None]:
    """Read a numeric CSV file. ``target`` picks the label column (an index, negative
    from the end, or a header name; None: no target). Returns ``(x, y)`` as RamTensors
    ``(1, samples, features)`` and ``(1, samples, 1)``. Blank lines are skipped; a row
    with the wrong number of cells or a non-numeric cell raises ValueError naming the
    line (1-based, as an editor shows it) and column."""
    import numpy as np

    path = os.fspath(path)
    names = None
    rows = []
    width: Any = None  # an int once the first row (or the header) is read
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if header and names is None:
                names = [c.strip() for c in cells]
                width = len(names)
                continue
            if width is None:
                width = len(cells)
            if len(cells) != width:
                raise ValueError(
                    f"load_csv: {path} line {line}: expected {width} columns, "
                    f"found {len(cells)} (ragged row)"
                )
            rows.append(
                [
                    _parse_float(c, path, line, j, names[j] if names else None)
                    for j, c in enumerate(cells)
                ]
            )
    if not rows:
        raise ValueError(f"load_csv: {path} has no data rows")
    data = np.asarray(rows, dtype=np.float32)
    if target is None:
        return rcmlrs.tensor(data), None
    if isinstance(target, str):
        if names is None or target not in names:
            raise ValueError(f"load_csv: no column named {target!r} in {path} (columns: {names})")
        t = names.index(target)
    elif isinstance(target, int) and not isinstance(target, bool):
        t = target + width if target < 0 else target
        if not 0 <= t < width:
            raise ValueError(
                f"load_csv: target column {target} is out of range for {width} columns"
            )
    else:
        raise TypeError(
            f"load_csv: target must be a column index, a name or None, got {type(target).__name__}"
        )
    if width < 2:
        raise ValueError(f"load_csv: {path} has a single column; nothing is left for features")
    x = np.ascontiguousarray(np.delete(data, t, axis=1))
    y = np.ascontiguousarray(data[:, t : t + 1])
    return rcmlrs.tensor(x), rcmlrs.tensor(y)


def _require_pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "rc.data.load_images needs Pillow, the optional extra "
            "'rcmlrs[images]': pip install \"rcmlrs[images]\" "
            "(or pip install Pillow)"
        ) from None
    return Image


def load_images(folder, size, grayscale=True) -> tuple[RamTensor, RamTensor, list[str]]:
    """Images from ``folder/<class name>/*`` resized to ``size`` (an int for square
    images or ``(height, width)``). Returns ``(x, y, class_names)``: x ``(samples,
    height, width)`` grayscale or ``(samples, height, width * 3)`` RGB, scaled to [0, 1];
    y ``(1, samples, 1)`` class indices in sorted folder-name order."""
    import numpy as np

    if isinstance(size, int) and not isinstance(size, bool):
        h = w = size
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        h, w = (int(s) for s in size)
    else:
        raise TypeError(f"load_images: size must be an int or (height, width), got {size!r}")
    if h < 1 or w < 1:
        raise ValueError(f"load_images: size must be positive, got {size!r}")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"load_images: {folder!r} is not a folder")
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise ValueError(f"load_images: {folder!r} has no sub-folders (one per class expected)")
    Image = _require_pillow()
    images, labels = [], []
    for ci, name in enumerate(classes):
        sub = os.path.join(folder, name)
        for fn in sorted(os.listdir(sub)):
            if not fn.lower().endswith(_IMAGE_EXTS):
                continue
            p = os.path.join(sub, fn)
            try:
                with Image.open(p) as im:
                    im = im.convert("L" if grayscale else "RGB").resize((w, h))
                    a = np.asarray(im, dtype=np.float32) / 255.0
            except OSError as e:
                raise ValueError(f"load_images: cannot read image {p!r}: {e}") from None
            images.append(a.reshape(h, w if grayscale else w * 3))
            labels.append(ci)
    if not images:
        raise ValueError(f"load_images: no images found under {folder!r}")
    x = np.stack(images)
    y = np.asarray(labels, dtype=np.float32).reshape(1, -1, 1)
    return rcmlrs.tensor(x), rcmlrs.tensor(y), classes


def _samples(a, what):
    """(array of samples, per-sample rows) from a RamTensor (1, N, F) / (N, R, C) or array."""
    import numpy as np

    if isinstance(a, RamTensor):
        arr = a.numpy()
        arr = arr[0] if arr.shape[0] == 1 else arr
    else:
        arr = np.asarray(a, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim < 2:
        raise ShapeError(f"{what}: expected (samples, features), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _order(n, shuffle, seed):
    import numpy as np

    if not shuffle:
        return np.arange(n, dtype=np.int64)
    from rcmlrs.nn.layers import draw_seed

    u = rcmlrs.random((n,), seed=draw_seed() if seed is None else seed).numpy().reshape(-1)
    return np.argsort(u, kind="stable").astype(np.int64)


def batches(x, y=None, batch_size=32, shuffle=True, seed=None):
    """Yield ``(x_batch, y_batch)`` RamTensors of ``(1, batch, features)`` (sample-major
    ``(batch, ...)`` for 3-D samples); ``y_batch`` is None without y. The last batch may
    be smaller. ``seed`` makes the shuffled order reproducible."""
    from rcmlrs import _layers as _T

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    xa = _samples(x, "batches")
    n = xa.shape[0]
    ya = None
    if y is not None:
        ya = _samples(y, "batches")
        if ya.shape[0] != n:
            raise ShapeError(f"batches: x has {n} samples but y has {ya.shape[0]}")
    order = _order(n, shuffle, seed)
    xt = rcmlrs.from_numpy(xa.reshape(n, -1) if xa.ndim == 2 else xa)
    yt = None if ya is None else rcmlrs.from_numpy(ya.reshape(n, -1))
    xrow = xa.size // n if n else 0
    yrow = ya.size // n if (ya is not None and n) else 0
    for s in range(0, n, batch_size):
        c = min(batch_size, n - s)
        xb = _T._nn_gather_rows(xt, xrow, order, s, c)
        if xa.ndim == 3:
            xb = xb.reshape((c,) + xa.shape[1:])
        yb = None if yt is None else _T._nn_gather_rows(yt, yrow, order, s, c)
        yield xb, yb


def train_test_split(x, y, test_fraction=0.2, seed=None) -> tuple[_F32, _F32, _F32, _F32]:
    """``(x_train, x_test, y_train, y_test)`` as NumPy arrays, shuffled with ``seed``."""
    xa, ya = _samples(x, "train_test_split"), _samples(y, "train_test_split")
    n = xa.shape[0]
    if ya.shape[0] != n:
        raise ShapeError(f"train_test_split: x has {n} samples but y has {ya.shape[0]}")
    if not 0 < test_fraction < 1:
        raise ValueError(
            f"train_test_split: test_fraction must be in (0, 1), got {test_fraction!r}"
        )
    order = _order(n, True, seed)
    k = max(1, int(round(n * test_fraction)))
    te, tr = order[:k], order[k:]
    return xa[tr], xa[te], ya[tr], ya[te]
