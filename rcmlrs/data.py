"""rc.data: load data sets as NumPy arrays (samples first), split, scale and batch them.

- ``load_csv(path, target=-1, header=True)`` -> ``(x, y)``: float32 x ``(samples,
  features)``, y ``(samples,)`` (None with ``target=None``); ``return_names=True`` adds the
  header names of x's columns. Errors name the line and column (1-based).
- ``load_images(folder, size, grayscale=True)`` -> ``(x, y, class_names)``: one sub-folder
  per class; x ``(samples, height, width, channels)`` float32 in [0, 1] (1 channel
  grayscale, 3 RGB), y ``(samples,)`` int64 class indices. Needs Pillow
  (``pip install "rcmlrs[images]"``).
- ``train_test_split(*arrays, test_size=0.25, shuffle=True, seed=None, stratify=None)``:
  scikit-learn's semantics (``stratify`` keeps the class proportions in both parts).
- ``StandardScaler`` / ``MinMaxScaler``: per-feature scaling fitted on the training set
  (statistics in float64) and reused on the test set; JSON-able (``to_dict``/``save``).
- ``one_hot(labels, n=None)`` -> float32 ``(samples, classes)``.
- ``batches(x, y, batch_size=32, shuffle=True, seed=None)`` yields NumPy ``(x_batch,
  y_batch)``.

These are exactly what ``rc.nn`` models take: ``model.fit(x, y)`` on ``load_csv``'s
``(x, y)``, or ``load_images``' x behind a ``Flatten()``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

import rcmlrs
from rcmlrs._tensor import RamTensor, ShapeError

if TYPE_CHECKING:
    import numpy
    from numpy.typing import NDArray

    _F32 = NDArray[numpy.float32]

__all__ = [
    "MinMaxScaler",
    "StandardScaler",
    "batches",
    "load_csv",
    "load_images",
    "one_hot",
    "scaler_from_dict",
    "train_test_split",
]

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def _parse_float(cell: str, path: str, line: int, col: int, name: str | None) -> float:
    try:
        return float(cell)
    except ValueError:
        label = f" ({name!r})" if name else ""
        if not cell.strip():
            raise ValueError(
                f"load_csv: {os.fspath(path)} line {line}, column {col + 1}{label}: "
                "missing value (empty cell)"
            ) from None
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


def _split_counts(n: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    """scikit-learn's sizes: a float is a fraction (the test part rounded up, the train
    part down), an int a count; the part left None is the rest."""

    def size(v: Any, what: str) -> float | int | None:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"train_test_split: {what} must be a float or an int, got {v!r}")
        if isinstance(v, float):
            if not 0.0 < v < 1.0:
                raise ValueError(f"train_test_split: {what}={v!r} must be in (0, 1) as a fraction")
        elif not 0 < v < n:
            raise ValueError(
                f"train_test_split: {what}={v!r} must be between 1 and {n - 1} for {n} samples"
            )
        return v

    te, tr = size(test_size, "test_size"), size(train_size, "train_size")
    if te is None and tr is None:
        te = 0.25
    n_test = None if te is None else (math.ceil(te * n) if isinstance(te, float) else te)
    n_train = None if tr is None else (math.floor(tr * n) if isinstance(tr, float) else tr)
    if n_test is None:
        assert n_train is not None
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train + n_test > n:
        raise ValueError(
            f"train_test_split: {n_train} train + {n_test} test samples exceed the {n} given"
        )
    if n_train < 1 or n_test < 1:
        raise ValueError(
            f"train_test_split: {n} samples with test_size={test_size!r} leave "
            f"{n_train} for training and {n_test} for testing; both need at least one"
        )
    return n_train, n_test


def _approximate_mode(counts: NDArray[Any], n_draws: int) -> NDArray[numpy.int64]:
    """How many of ``n_draws`` to take from each class so the proportions of ``counts``
    are kept (scikit-learn's rule: floor, then one more for the largest remainders;
    ties go to the lower class index, deterministically)."""
    import numpy as np

    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        # largest remainder first, lower class index first among equal remainders
        order = np.lexsort((np.arange(len(counts)), -remainder))
        floored[order[:need]] += 1
    return floored.astype(np.int64)


def train_test_split(
    *arrays: Any,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    stratify: Any = None,
    test_fraction: float | None = None,
) -> list[NDArray[Any]]:
    """Split arrays that share their first (samples) axis into a train and a test part.

    Returns ``[a_train, a_test, b_train, b_test, ...]`` for ``arrays = (a, b, ...)``, NumPy
    arrays of the inputs' shapes and dtypes (a RamTensor ``(1, n, f)`` counts as n samples).
    scikit-learn's semantics: ``test_size`` a fraction in (0, 1) (the test part is
    ``ceil(test_size * n)`` samples) or a count; it defaults to 0.25 when ``train_size`` is
    not given either. ``shuffle=False`` keeps the order (the test part is the tail).
    ``stratify``: class labels ``(n,)``; each class then keeps its proportion in both parts
    (scikit-learn's rounding; needs ``shuffle=True`` and at least 2 samples per class).
    ``seed`` makes the shuffle reproducible on every OS (rcmlrs's counter-based RNG).

    The older form ``train_test_split(x, y, 0.2, seed=0)`` (a number as the last positional
    argument, or ``test_fraction=``) still means ``test_size``."""
    import numpy as np

    if arrays and isinstance(arrays[-1], (float, int)) and not isinstance(arrays[-1], bool):
        if test_size is not None:
            raise TypeError("train_test_split: test_size given twice")
        test_size, arrays = arrays[-1], arrays[:-1]
    if test_fraction is not None:
        if test_size is not None:
            raise TypeError("train_test_split: give test_size or test_fraction, not both")
        test_size = test_fraction
    if not arrays:
        raise TypeError("train_test_split: at least one array is required")
    first = _samples(arrays[0], "train_test_split")
    n = first.shape[0]
    data = [first] + [_samples(a, "train_test_split", n) for a in arrays[1:]]
    for i, a in enumerate(data):
        if a.shape[0] != n:
            raise ShapeError(
                f"train_test_split: array 0 has {n} samples but array {i} has {a.shape[0]}"
            )
    n_train, n_test = _split_counts(n, test_size, train_size)
    if stratify is None:
        order = _order(n, shuffle, seed)
        tr, te = order[:n_train], order[n_train : n_train + n_test]
        if shuffle:  # the test part first, as this function always drew it
            te, tr = order[:n_test], order[n_test : n_test + n_train]
    else:
        if not shuffle:
            raise ValueError("train_test_split: stratify needs shuffle=True (as in scikit-learn)")
        labels = _samples(stratify, "train_test_split: stratify", n)
        if labels.shape[0] != n:
            raise ShapeError(
                f"train_test_split: stratify has {labels.shape[0]} labels for {n} samples"
            )
        classes, y_idx = np.unique(labels.reshape(n, -1), axis=0, return_inverse=True)
        y_idx = y_idx.reshape(-1)
        counts = np.bincount(y_idx, minlength=len(classes))
        if counts.min() < 2:
            c = int(np.argmin(counts))
            raise ValueError(
                f"train_test_split: class {classes[c].tolist()} has only {counts[c]} sample; "
                "stratify needs at least 2 per class"
            )
        if n_train < len(classes) or n_test < len(classes):
            raise ValueError(
                f"train_test_split: {n_train} train / {n_test} test samples cannot hold all "
                f"{len(classes)} classes; stratify needs at least one of each in both parts"
            )
        n_i = _approximate_mode(counts, n_train)
        t_i = _approximate_mode(counts - n_i, n_test)
        order = _order(n, True, seed)
        by_class = y_idx[order]
        tr_parts, te_parts = [], []
        for c in range(len(classes)):
            members = order[by_class == c]  # this class's samples, in shuffled order
            tr_parts.append(members[: n_i[c]])
            te_parts.append(members[n_i[c] : n_i[c] + t_i[c]])
        # interleave the classes in the shuffled order rather than class by class
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n, dtype=np.int64)
        tr = np.concatenate(tr_parts)
        te = np.concatenate(te_parts)
        tr, te = tr[np.argsort(rank[tr], kind="stable")], te[np.argsort(rank[te], kind="stable")]
    out: list[NDArray[Any]] = []
    for a in data:
        out += [a[tr], a[te]]
    return out


def one_hot(labels: Any, n: int | None = None) -> _F32:
    """Class labels ``(samples,)`` (whole numbers in ``[0, n)``, read in C order) as a
    NumPy float32 array ``(samples, n)``: row i is zeros but a 1 in column ``labels[i]``.
    ``n`` (the number of classes) defaults to ``max(labels) + 1``. The same checks as
    ``rc.one_hot`` (which returns a RamTensor ``(1, samples, n)``): a label that is not a
    whole number or lies outside ``[0, n)`` is a ValueError naming it."""
    import numpy as np

    if n is None:
        n = 1  # when the labels are not usable, rc.one_hot below names the bad one
        try:
            arr = labels.numpy() if isinstance(labels, RamTensor) else np.asarray(labels)
            if arr.size and arr.dtype.kind in "iuf":
                top = float(np.max(arr))
                if math.isfinite(top) and top >= 0:
                    n = int(top) + 1
        except (TypeError, ValueError, OverflowError):
            pass
    out: _F32 = rcmlrs.one_hot(labels, n).numpy()[0]
    return out


# ------------------------------------------------------------------------------- scalers
SCALER_FORMAT = "rcmlrs-scaler"
SCALER_FORMAT_VERSION = 1


def _features(x: Any, what: str) -> NDArray[Any]:
    """``x`` as a NumPy array whose last axis holds the features: ``(n, f)``,
    ``(n, T, f)``, ``(n, H, W, C)``; a RamTensor ``(layers, rows, cols)`` by its view."""
    import numpy as np

    arr = x.numpy() if isinstance(x, RamTensor) else np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected numbers, got an array of dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ShapeError(
            f"{what}: expected (samples, features) or (samples, ..., features), got shape "
            f"{arr.shape}; for one feature use x.reshape(-1, 1)"
        )
    return arr


def _out_dtype(arr: NDArray[Any]) -> Any:
    import numpy as np

    return np.float64 if arr.dtype == np.float64 else np.float32


def _as_f64_list(v: Any, what: str) -> NDArray[numpy.float64]:
    import numpy as np

    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{what}: expected a list of numbers, got shape {a.shape}")
    return a


class _Scaler:
    """Shared machinery of the scalers: feature checks, JSON form, save/load."""

    _stats: tuple[str, ...] = ()
    n_features_in_: int | None
    n_samples_seen_: int | None

    def _fit_stats(self, a: NDArray[numpy.float64]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _apply(self, a: NDArray[Any], inverse: bool) -> NDArray[Any]:  # pragma: no cover
        raise NotImplementedError

    def _params(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    @property
    def fitted(self) -> bool:
        """True once ``fit`` (or ``from_config`` with statistics) has set the statistics."""
        return self.n_features_in_ is not None

    def fit(self, x: Any) -> Any:
        """Compute the per-feature statistics of ``x`` (``(n, f)`` or ``(n, ..., f)``:
        every axis but the last is a sample axis) in float64 and return the scaler."""
        import numpy as np

        what = f"{type(self).__name__}.fit"
        arr = _features(x, what)
        a = arr.reshape(-1, arr.shape[-1]).astype(np.float64)
        if a.shape[0] == 0:
            raise ValueError(f"{what}: no samples to fit on (shape {arr.shape})")
        bad = ~np.isfinite(a)
        if bad.any():
            r, c = (int(i[0]) for i in np.nonzero(bad))
            raise ValueError(
                f"{what}: feature {c} holds {a[r, c].item()!r} (row {r}); fit needs finite values"
            )
        self._fit_stats(a)
        self.n_features_in_ = int(a.shape[1])
        self.n_samples_seen_ = int(a.shape[0])
        return self

    def _run(self, x: Any, inverse: bool) -> NDArray[Any]:
        import numpy as np

        what = f"{type(self).__name__}.{'inverse_transform' if inverse else 'transform'}"
        if self.n_features_in_ is None:
            raise RuntimeError(f"{what}: the scaler is not fitted; call fit(x_train) first")
        arr = _features(x, what)
        if arr.shape[-1] != self.n_features_in_:
            raise ShapeError(
                f"{what}: fitted on {self.n_features_in_} features, got shape {arr.shape}"
            )
        out = self._apply(arr.astype(np.float64), inverse)
        return np.ascontiguousarray(out, dtype=_out_dtype(arr))

    def transform(self, x: Any) -> NDArray[Any]:
        """Scale ``x`` (the fitted feature count on its last axis) with the fitted
        statistics. Returns a new NumPy array of x's shape: float64 for float64 input,
        float32 otherwise."""
        return self._run(x, inverse=False)

    def inverse_transform(self, x: Any) -> NDArray[Any]:
        """Undo ``transform``: the values in the original units, same shape and dtype
        rule as ``transform``."""
        return self._run(x, inverse=True)

    def fit_transform(self, x: Any) -> NDArray[Any]:
        """``fit(x)`` then ``transform(x)``.
        Returns a new NumPy array of x's shape, ``(n, f)`` or ``(n, ..., f)``."""
        return self.fit(x).transform(x)

    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments plus the fitted statistics (float64 values as
        Python floats, which JSON round-trips exactly); ``from_config`` rebuilds it."""
        cfg = self._params()
        cfg["n_features_in"] = self.n_features_in_
        cfg["n_samples_seen"] = self.n_samples_seen_
        for k in self._stats:
            v = getattr(self, k + "_", None)
            cfg[k] = None if v is None else [float(e) for e in v]
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        """The scaler ``get_config`` described, fitted when the config holds statistics."""
        cfg = dict(config)
        n_in = cfg.pop("n_features_in", None)
        seen = cfg.pop("n_samples_seen", None)
        stats = {k: cfg.pop(k, None) for k in cls._stats}
        obj = cls(**cfg)
        if n_in is not None:
            for k, v in stats.items():
                if v is not None:
                    a = _as_f64_list(v, f"{cls.__name__}.from_config: {k}")
                    if a.shape[0] != n_in:
                        raise ValueError(
                            f"{cls.__name__}.from_config: {k} has {a.shape[0]} values for "
                            f"{n_in} features"
                        )
                    setattr(obj, k + "_", a)
            obj.n_features_in_ = int(n_in)
            obj.n_samples_seen_ = None if seen is None else int(seen)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """``{"class_name": ..., "config": get_config()}``: what a model file (or any JSON
        document) stores; ``scaler_from_dict`` reads it back."""
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``to_dict()`` as a JSON file (with a format name and version), e.g.
        ``scaler.save("model.scaler.json")`` next to ``model.save("model.rcm")``."""
        doc = {"format": SCALER_FORMAT, "version": SCALER_FORMAT_VERSION, **self.to_dict()}
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Read a scaler written by ``save``; the file's class must be ``cls`` (or any
        scaler when called on ``StandardScaler``'s and ``MinMaxScaler``'s common base)."""
        with open(os.fspath(path), encoding="utf-8") as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or doc.get("format") != SCALER_FORMAT:
            raise ValueError(f"{cls.__name__}.load: {os.fspath(path)} is not a scaler file")
        if not isinstance(doc.get("version"), int) or doc["version"] > SCALER_FORMAT_VERSION:
            raise ValueError(
                f"{cls.__name__}.load: scaler format version {doc.get('version')!r} is not "
                f"readable by this rcmlrs (reads up to {SCALER_FORMAT_VERSION})"
            )
        obj = scaler_from_dict(doc)
        if cls is not _Scaler and not isinstance(obj, cls):
            raise ValueError(
                f"{cls.__name__}.load: the file holds a {type(obj).__name__}, not a {cls.__name__}"
            )
        return obj

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        state = "" if self.fitted else " (not fitted)"
        return f"{type(self).__name__}({args}){state}"


class StandardScaler(_Scaler):
    """Per-feature standardisation ``z = (x - mean) / std`` (scikit-learn's
    ``StandardScaler``): the mean and the population standard deviation (ddof=0) of each
    feature of the training data, computed in float64. A constant feature is scaled by 1.

    Attributes after ``fit``: ``mean_`` ``(f,)`` (kept but not subtracted with
    ``with_mean=False``; None when both flags are False), ``var_``
    and ``scale_`` ``(f,)`` (None with ``with_std=False``), in the data's units (``var_``
    in units squared), ``n_features_in_``, ``n_samples_seen_``.

    >>> sc = StandardScaler().fit(x_train)   # (n, f) or (n, ..., f)
    >>> x_train_z, x_test_z = sc.transform(x_train), sc.transform(x_test)
    """

    _stats = ("mean", "var", "scale")

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        for k, v in (("with_mean", with_mean), ("with_std", with_std)):
            if not isinstance(v, bool):
                raise TypeError(f"StandardScaler: {k} must be a bool, got {v!r}")
        self.with_mean = with_mean
        self.with_std = with_std
        self.mean_: NDArray[numpy.float64] | None = None
        self.var_: NDArray[numpy.float64] | None = None
        self.scale_: NDArray[numpy.float64] | None = None
        self.n_features_in_ = None
        self.n_samples_seen_ = None

    def _params(self) -> dict[str, Any]:
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def _fit_stats(self, a: NDArray[numpy.float64]) -> None:
        import numpy as np

        mean = a.mean(axis=0)
        # as in scikit-learn, mean_ is kept whenever anything is fitted (used by transform
        # only with with_mean)
        self.mean_ = mean if (self.with_mean or self.with_std) else None
        if self.with_std:
            var = ((a - mean) ** 2).mean(axis=0)
            n = a.shape[0]
            eps = np.finfo(np.float64).eps
            # scikit-learn's test for a feature indistinguishable from a constant
            constant = var <= n * eps * var + (n * mean * eps) ** 2
            scale = np.sqrt(var)
            scale[constant] = 1.0
            self.var_, self.scale_ = var, scale
        else:
            self.var_ = self.scale_ = None

    def _apply(self, a: NDArray[Any], inverse: bool) -> NDArray[Any]:
        if inverse:
            if self.scale_ is not None:
                a = a * self.scale_
            return a + self.mean_ if self.with_mean and self.mean_ is not None else a
        if self.with_mean and self.mean_ is not None:
            a = a - self.mean_
        return a if self.scale_ is None else a / self.scale_


class MinMaxScaler(_Scaler):
    """Per-feature rescaling of the training range onto ``feature_range`` (scikit-learn's
    ``MinMaxScaler``): ``x * scale_ + min_`` with ``scale_ = (hi - lo) / (data_max_ -
    data_min_)`` and ``min_ = lo - data_min_ * scale_``, in float64. A constant feature
    (zero range) is scaled by 1 (shifted to ``lo``). ``clip=True`` clips transformed values
    (e.g. of the test set) to ``feature_range``.

    Attributes after ``fit``, each ``(f,)``: ``data_min_``, ``data_max_``, ``data_range_``
    (data units), ``scale_``, ``min_``; ``n_features_in_``, ``n_samples_seen_``.
    """

    _stats = ("data_min", "data_max", "data_range", "scale", "min")

    def __init__(self, feature_range: tuple[float, float] = (0, 1), clip: bool = False) -> None:
        try:
            lo, hi = (float(v) for v in feature_range)
        except (TypeError, ValueError):
            raise TypeError(
                f"MinMaxScaler: feature_range must be (min, max), got {feature_range!r}"
            ) from None
        if not lo < hi:
            raise ValueError(
                f"MinMaxScaler: feature_range min must be smaller than max, got {feature_range!r}"
            )
        if not isinstance(clip, bool):
            raise TypeError(f"MinMaxScaler: clip must be a bool, got {clip!r}")
        self.feature_range = (lo, hi)
        self.clip = clip
        self.data_min_: NDArray[numpy.float64] | None = None
        self.data_max_: NDArray[numpy.float64] | None = None
        self.data_range_: NDArray[numpy.float64] | None = None
        self.scale_: NDArray[numpy.float64] | None = None
        self.min_: NDArray[numpy.float64] | None = None
        self.n_features_in_ = None
        self.n_samples_seen_ = None

    def _params(self) -> dict[str, Any]:
        return {"feature_range": list(self.feature_range), "clip": self.clip}

    def _fit_stats(self, a: NDArray[numpy.float64]) -> None:
        import numpy as np

        lo, hi = self.feature_range
        dmin, dmax = a.min(axis=0), a.max(axis=0)
        rng = dmax - dmin
        safe = rng.copy()
        safe[rng < 10 * np.finfo(np.float64).eps] = 1.0  # a constant feature: scale by 1
        self.data_min_, self.data_max_, self.data_range_ = dmin, dmax, rng
        self.scale_ = (hi - lo) / safe
        self.min_ = lo - dmin * self.scale_

    def _apply(self, a: NDArray[Any], inverse: bool) -> NDArray[Any]:
        import numpy as np

        assert self.scale_ is not None and self.min_ is not None
        if inverse:
            return (a - self.min_) / self.scale_
        out = a * self.scale_ + self.min_
        return np.clip(out, *self.feature_range) if self.clip else out


_SCALERS: dict[str, type[_Scaler]] = {
    "StandardScaler": StandardScaler,
    "MinMaxScaler": MinMaxScaler,
}


def scaler_from_dict(d: dict[str, Any]) -> StandardScaler | MinMaxScaler:
    """The scaler described by ``to_dict()``'s ``{"class_name", "config"}`` (other keys,
    such as a file's format and version, are ignored)."""
    if not isinstance(d, dict):
        raise TypeError(f"scaler_from_dict: expected a dict, got {type(d).__name__}")
    name, cfg = d.get("class_name"), d.get("config")
    if name not in _SCALERS:
        raise ValueError(f"scaler_from_dict: unknown scaler {name!r} (known: {sorted(_SCALERS)})")
    if not isinstance(cfg, dict):
        raise ValueError("scaler_from_dict: 'config' must be a dict")
    out: StandardScaler | MinMaxScaler = _SCALERS[name].from_config(cfg)
    return out
