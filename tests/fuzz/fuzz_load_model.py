"""Fuzz harness for ``rc.nn.load_model`` (the model description and its tensors).

Every input must either load or raise ``rc.FormatError``; any other exception, a crash,
a hang or a huge allocation is a bug. What loads must describe itself (``summary``) and
save again.

Run it with atheris (``pip install atheris``) from the repository root, after
``python setup.py build_ext --inplace``::

    mkdir -p build/fuzz-model-artifacts
    PYTHONPATH=. timeout 900 python tests/fuzz/fuzz_load_model.py -max_total_time=600 \\
        -rss_limit_mb=2048 -timeout=10 -max_len=8192 \\
        -artifact_prefix=build/fuzz-model-artifacts/ build/fuzz-model-corpus

Replay a crash with ``python tests/fuzz/fuzz_load_model.py <file>``.
``tests/fuzz/test_fuzz_load_model_seeded.py`` runs ``one_input`` over seeded mutations
under plain pytest (no atheris).

Input layout: the first byte picks a target: 0 a raw model file; 1 a valid container
whose description JSON text is the rest of the input; 2 a valid model whose description
and tensors are edited by the input (reaches the field and shape checks).
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
from typing import Any

import numpy as np

import rcmlrs as rc
from rcmlrs import io as rio
from rcmlrs import nn
from rcmlrs.nn import saving

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_load  # noqa: E402  (its Provider and atheris runner serve both harnesses)
from fuzz_load import Provider  # noqa: E402

TARGETS = 3


# ------------------------------------------------------------------ valid models


def _models() -> list[tuple[dict[str, Any], list[rc.RamTensor]]]:
    """(description, tensors) of a few small valid models, trained a step so that every
    optimizer state is filled."""
    rng = np.random.default_rng(0)
    out = []
    specs = [
        (
            [nn.Dense(3, "relu"), nn.Dropout(0.2), nn.Dense(2, "softmax")],
            rc.Adam(amsgrad=True),
            "cross_entropy",
            rng.normal(size=(6, 2)),
            np.arange(6) % 2,
        ),
        (
            [nn.LSTM(2, return_sequences=True), nn.RNN(2, activation="relu"), nn.Dense(1)],
            rc.SGD(lr=0.1, momentum=0.9),
            "mse",
            rng.normal(size=(4, 3, 2)),
            rng.normal(size=(4, 1)),
        ),
        (
            [nn.Flatten(), nn.Dense(2, "sigmoid", use_bias=False)],
            rc.SGD(),
            "binary_cross_entropy",
            rng.normal(size=(4, 2, 2, 1)),
            rng.integers(0, 2, (4, 2)),
        ),
    ]
    for layers, opt, loss, x, y in specs:
        m = nn.Sequential(layers)
        m.compile(opt, loss, metrics=["accuracy"] if loss != "mse" else ["mae"])
        m.fit(x.astype(np.float32), y, epochs=1, batch_size=4, seed=1, verbose=0)
        tensors, meta = _saved(m)
        out.append((json.loads(meta[saving.META_KEY]), tensors))
    return out


def _saved(m: nn.Sequential) -> tuple[list[rc.RamTensor], dict[str, str]]:
    """What model.save writes, read back: (tensors, metadata)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.rcm")
        m.save(path)
        return rio.load_binary_with_metadata(path)


_MODELS: list[tuple[dict[str, Any], list[rc.RamTensor]]] | None = None


def models() -> list[tuple[dict[str, Any], list[rc.RamTensor]]]:
    global _MODELS
    if _MODELS is None:
        _MODELS = _models()
    return _MODELS


def container(description: str | bytes, tensors: list[rc.RamTensor]) -> bytes:
    """A valid rcmlrs container (checksummed) holding ``tensors`` and the description."""
    text = description.decode("utf-8", "replace") if isinstance(description, bytes) else description
    try:
        header = rio._binary_header(tensors, {saving.META_KEY: text}, "fuzz")
    except ValueError:  # the writer refuses what its reader would refuse: write it raw
        return plain_file(text, tensors)
    buf = io.BytesIO()
    rio._write_binary(buf, tensors, header)
    return buf.getvalue()


# ------------------------------------------------------------------ structured edits

_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    7,
    2**31,
    2**63,
    2**64,
    10**30,
    0.5,
    -0.0,
    1e308,
    "",
    "x",
    "relu",
    "softmax",
    "Dense",
    "LSTM",
    "Flatten",
    "Adam",
    "SGD",
    "mse",
    "cross_entropy",
    "accuracy",
    [],
    [1],
    [2, 2],
    [None, 2],
    [[1]],
    {},
    {"tensor": 0},
    {"tensor": 5},
    {"name": "mse"},
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _edit(cfg: Any, path: tuple[Any, ...], op: int, value: Any) -> Any:
    if not path:
        return value
    parent = cfg
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if op == 0 or op == 1:
        parent[key] = value
    elif op == 2:  # delete
        del parent[key]
    elif op == 3 and isinstance(parent, dict):  # add a key beside
        parent[f"extra{value!r}"[:12]] = value
    elif op == 3:
        parent.append(value)
    elif isinstance(parent, dict):  # wrap in a list
        parent[key] = [parent[key]]
    else:  # duplicate a list entry
        parent.insert(key, copy.deepcopy(parent[key]))
    return cfg


def structured(data: bytes) -> bytes:
    p = Provider(data)
    cfg, tensors = p.pick(models())
    cfg = copy.deepcopy(cfg)
    tensors = list(tensors)
    for _ in range(1 + p.byte() % 3):
        paths = _paths(cfg)
        path = paths[p.byte() % len(paths)] if paths else ()
        cfg = _edit(cfg, path, p.byte() % 5, copy.deepcopy(p.pick(_VALUES)))
    for _ in range(p.byte() % 3):  # tensor edits: drop, reshape, add
        op = p.byte() % 3
        i = p.byte() % (len(tensors) + 1)
        if op == 0 and tensors:
            del tensors[i % len(tensors)]
        elif op == 1 and tensors:
            k = i % len(tensors)
            n = tensors[k].size
            tensors[k] = rc.zeros(p.pick(((1, 1, n), (n, 1, 1), (1, 2, 2))))
        else:
            tensors.insert(i, rc.zeros(p.pick(((1, 1, 1), (1, 2, 3), (1, 3, 2), (0, 0, 0)))))
    try:
        text = json.dumps(cfg)
    except (ValueError, TypeError):
        text = "{"
    return container(text, tensors)


# ------------------------------------------------------------------ the target


def one_input(data: bytes) -> None:
    if not data:
        return
    target, payload = data[0] % TARGETS, data[1:]
    if target == 1:
        payload = container(payload, p_tensors(payload))
    elif target == 2:
        payload = structured(payload)
    try:
        tensors, meta = rio._read_binary(io.BytesIO(payload), len(payload), "fuzz")
        model = saving.model_from_parts(tensors, meta, "fuzz")
    except rc.FormatError:
        return
    # what loads works: it describes itself and saves again
    assert model.built and isinstance(model.summary(), str)
    assert isinstance(saving.model_config(model), dict)


def p_tensors(payload: bytes) -> list[rc.RamTensor]:
    """The tensors of one of the valid models, chosen by the payload's length."""
    return list(models()[len(payload) % len(models())][1])


def plain_file(description: str, tensors: list[rc.RamTensor]) -> bytes:
    """The same as a plain safetensors file (no rcmlrs checksum), so that byte-level
    mutations of the whole file reach the description instead of the CRC check."""
    header: dict[str, Any] = {"__metadata__": {saving.META_KEY: description}}
    offset = 0
    for i, t in enumerate(tensors):
        header[f"t{i:04d}"] = {
            "dtype": "F32",
            "shape": list(t.shape),
            "data_offsets": [offset, offset + t.nbytes],
        }
        offset += t.nbytes
    h = json.dumps(header).encode()
    body = b"".join(np.asarray(t, dtype="<f4").tobytes() for t in tensors)
    return len(h).to_bytes(8, "little") + h + body


def seed_files() -> list[bytes]:
    """Valid inputs (target byte first) that mutations start from."""
    out = []
    for cfg, tensors in models():
        text = json.dumps(cfg)
        out.append(b"\x00" + container(text, tensors))
        out.append(b"\x00" + plain_file(text, tensors))
        out.append(b"\x01" + text.encode())
    out.append(b"\x02" + bytes(range(32)))
    out.append(b"\x02\x01\x05\x00\x03\x02")
    return out


def main(argv: list[str]) -> None:
    fuzz_load.run(argv, seed_files, one_input)


if __name__ == "__main__":
    main(sys.argv)
