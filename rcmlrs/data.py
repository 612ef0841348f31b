"""rc.data: load data sets as NumPy arrays (samples first), cut them into mini-batches.

- ``load_csv(path, target=-1, header=True)`` -> ``(x, y)``: float32 x ``(samples,
  features)``, y ``(samples,)`` (None with ``target=None``); ``return_names=True`` adds the
  header names of x's columns. Errors name the line and column.
- ``load_images(folder, size, grayscale=True)`` -> ``(x, y, class_names)``: one sub-folder
  per class; x ``(samples, height, width, channels)`` float32 in [0, 1] (1 channel
  grayscale, 3 RGB), y ``(samples,)`` int64 class indices. Needs Pillow
  (``pip install "rcmlrs[images]"``).
- ``batches(x, y, batch_size=32, shuffle=True, seed=None)`` yields NumPy ``(x_batch,
  y_batch)``.
- ``train_test_split(x, y, test_fraction=0.2, seed=None)``.

These are exactly what ``rc.nn`` models take: ``model.fit(x, y)`` on ``load_csv``'s
``(x, y)``, or ``load_images``' x behind a ``Flatten()``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

import rcmlrs
from rcmlrs._tensor import RamTensor, ShapeError

if TYPE_CHECKING:
    import numpy
    from numpy.typing import NDArray

    _F32 = NDArray[numpy.float32]

__all__ = ["batches", "load_csv", "load_images", "train_test_split"]

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def _parse_float(cell: str, path: str, line: int, col: int, name: str | None) -> float:
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
    path: str | os.PathLike[str],
    target: None,
    header: bool = True,
    delimiter: str = ",",
    return_names: Literal[False] = False,
) -> tuple[_F32, None]: ...
@overload
def load_csv(
    path: str | os.PathLike[str],
    target: int | str = -1,
    header: bool = True,
    delimiter: str = ",",
    return_names: Literal[False] = False,
) -> tuple[_F32, _F32]: ...
@overload
def load_csv(
    path: str | os.PathLike[str],
    target: int | str | None = -1,
    header: bool = True,
    delimiter: str = ",",
    *,
    return_names: Literal[True],
) -> tuple[_F32, _F32 | None, list[str] | None]: ...
def load_csv(
    path: Any,
    target: Any = -1,
    header: bool = True,
    delimiter: str = ",",
    return_names: bool = False,
) -> Any:
    """Read a numeric CSV file. ``target`` picks the label column (an index, negative
    from the end, or a header name; None: no target). Returns ``(x, y)`` as NumPy float32
    arrays ``(samples, features)`` and ``(samples,)`` (y None without a target); with
    ``return_names=True`` also the header names of x's columns (None without a header).
    Blank lines are skipped; a row with the wrong number of cells or a non-numeric cell
    raises ValueError naming the line (1-based, as an editor shows it) and column."""
    import numpy as np

    path = os.fspath(path)
    names: list[str] | None = None
    rows: list[list[float]] = []
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
        return (data, None, names) if return_names else (data, None)
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
    y = np.ascontiguousarray(data[:, t])
    if return_names:
        return x, y, (None if names is None else names[:t] + names[t + 1 :])
    return x, y


def _require_pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "rc.data.load_images needs Pillow, the optional extra "
            "'rcmlrs[images]': pip install \"rcmlrs[images]\" "
            "(or pip install Pillow)"
        ) from None
    return Image


def load_images(
    folder: str | os.PathLike[str], size: int | tuple[int, int], grayscale: bool = True
) -> tuple[_F32, NDArray[numpy.int64], list[str]]:
    """Images from ``folder/<class name>/*`` resized to ``size`` (an int for square
    images or ``(height, width)``). Returns ``(x, y, class_names)``: x ``(samples, height,
    width, 1)`` grayscale or ``(samples, height, width, 3)`` RGB, float32 in [0, 1]; y
    ``(samples,)`` int64 class indices in sorted folder-name order."""
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
    channels = 1 if grayscale else 3
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
            images.append(a.reshape(h, w, channels))
            labels.append(ci)
    if not images:
        raise ValueError(f"load_images: no images found under {folder!r}")
    x = np.ascontiguousarray(np.stack(images), dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    return x, y, classes


def _samples(a: Any, what: str, n: int | None = None) -> NDArray[Any]:
    """A samples-first NumPy array: arrays as given (1-D: one value per sample); a
    RamTensor through its view, ``(1, n, f)`` read as n samples of f features (and, when
    ``n`` is known, ``(1, 1, n)`` as n values)."""
    import numpy as np

    if isinstance(a, RamTensor):
        arr = a.numpy()
        if arr.shape[0] == 1 and n is not None and arr.shape[1] == 1 and arr.shape[2] == n != 1:
            arr = arr.reshape(n)
        elif arr.shape[0] == 1:
            arr = arr[0]
    else:
        arr = np.asarray(a)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"{what}: expected numbers, got an array of dtype {arr.dtype}")
    if arr.ndim < 1:
        raise ShapeError(f"{what}: expected samples first, got a scalar")
    return arr


def _order(n: int, shuffle: bool, seed: int | None) -> NDArray[numpy.int64]:
    import numpy as np

    if not shuffle:
        return np.arange(n, dtype=np.int64)
    from rcmlrs.nn.seeding import draw_seed

    u = rcmlrs.random((n,), seed=draw_seed() if seed is None else seed).numpy().reshape(-1)
    return np.argsort(u, kind="stable").astype(np.int64)


def batches(
    x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True, seed: int | None = None
) -> Iterator[tuple[NDArray[Any], NDArray[Any] | None]]:
    """Yield ``(x_batch, y_batch)`` NumPy arrays, samples first (``(batch, ...)`` of the
    inputs' own shapes and dtypes); ``y_batch`` is None without y. The last batch may be
    smaller. ``seed`` makes the shuffled order reproducible."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    xa = _samples(x, "batches")
    n = xa.shape[0]
    ya = None
    if y is not None:
        ya = _samples(y, "batches", n)
        if ya.shape[0] != n:
            raise ShapeError(f"batches: x has {n} samples but y has {ya.shape[0]}")
    order = _order(n, shuffle, seed)
    for s in range(0, n, batch_size):
        idx = order[s : s + batch_size]
        yield xa[idx], (None if ya is None else ya[idx])


def train_test_split(
    x: Any, y: Any, test_fraction: float = 0.2, seed: int | None = None
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """``(x_train, x_test, y_train, y_test)`` as NumPy arrays (samples first, the inputs'
    shapes and dtypes), shuffled with ``seed``."""
    xa = _samples(x, "train_test_split")
    n = xa.shape[0]
    ya = _samples(y, "train_test_split", n)
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
