"""model.save / load_model: optimizer config and state, exact resumption of training
(weights, optimizer, shuffle and dropout streams), disjoint random streams, and a loader
that raises FormatError, after checking shapes and before allocating, on bad files."""

from __future__ import annotations

import io
import json
import resource
import struct
import time

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import io as rio
from rcmlrs import nn
from rcmlrs.nn import saving, seeding


def _blobs(n=160, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype=np.float32)
    return (centers[y] + r.normal(0, 0.7, (n, 2))).astype(np.float32), y


def _sine(n, T=8, seed=0):
    r = np.random.default_rng(seed)
    ph = r.uniform(0, 2 * np.pi, n)
    s = np.sin(ph[:, None] + 0.3 * np.arange(T + 1)[None, :]).astype(np.float32)
    return s[:, :T, None], s[:, T:]


def _same(a, b):
    return len(a) == len(b) and all(
        np.array_equal(np.asarray(u).view(np.uint32), np.asarray(v).view(np.uint32))
        for u, v in zip(a, b, strict=True)
    )


def _mlp():
    return nn.Sequential(
        [nn.Dense(16, "relu"), nn.Dropout(0.3), nn.Dense(16, "tanh"), nn.Dropout(0.2), nn.Dense(3)]
    )


OPTIMIZERS = {
    "adam": lambda: rc.Adam(lr=3e-3),
    "amsgrad": lambda: rc.Adam(lr=3e-3, amsgrad=True, weight_decay=1e-3),
    "sgd_momentum": lambda: rc.SGD(lr=0.05, momentum=0.9),
    "sgd_nesterov": lambda: rc.SGD(lr=0.05, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_resume_after_save_is_bit_for_bit(tmp_path, opt):
    """2 epochs, save, load, 2 more == 4 epochs straight (shuffle + dropout on)."""
    x, y = _blobs()
    straight = _mlp()
    straight.compile(OPTIMIZERS[opt](), "cross_entropy", metrics=["accuracy"])
    straight.build((2,), seed=3)
    h4 = straight.fit(x, y, epochs=4, batch_size=16, seed=11, verbose=0)

    first = _mlp()
    first.compile(OPTIMIZERS[opt](), "cross_entropy", metrics=["accuracy"])
    first.build((2,), seed=3)
    first.fit(x, y, epochs=2, batch_size=16, seed=11, verbose=0)
    path = tmp_path / "half.rcm"
    first.save(path)
    back = nn.load_model(path)
    assert type(back.optimizer) is type(straight.optimizer)
    assert back.optimizer.hyperparameters() == straight.optimizer.hyperparameters()
    assert back.epoch == 2 and back.seed == 11
    h2 = back.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert _same(back.weights, straight.weights)
    assert h2.history["loss"] == h4.history["loss"][2:]
    sa, sb = straight.optimizer.state_dict(), back.optimizer.state_dict()
    assert sa["t"] == sb["t"] == 40
    for a, b in zip(sa["state"], sb["state"], strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], rc.RamTensor):
                assert _same([a[k]], [b[k]])
            else:
                assert a[k] == b[k]


def test_resume_recurrent_model_and_same_seed_continues(tmp_path):
    """An LSTM/RNN model resumes exactly too; passing the same seed again continues the
    stream (a different seed would start a new one)."""
    x, y = _sine(96)

    def model():
        m = nn.Sequential([nn.LSTM(6, return_sequences=True), nn.Dropout(0.1), nn.RNN(5)])
        m.add(nn.Dense(1))
        m.compile(rc.SGD(lr=0.05, momentum=0.9), "mse")
        m.build((8, 1), seed=0)
        return m

    straight = model()
    straight.fit(x, y, epochs=3, batch_size=8, seed=5, verbose=0)
    part = model()
    part.fit(x, y, epochs=1, batch_size=8, seed=5, verbose=0)
    part.save(tmp_path / "r.rcm")
    back = nn.load_model(tmp_path / "r.rcm")
    back.fit(x, y, epochs=2, batch_size=8, seed=5, verbose=0)
    assert _same(back.weights, straight.weights)
    other = nn.load_model(tmp_path / "r.rcm")
    other.fit(x, y, epochs=2, batch_size=8, seed=6, verbose=0)
    assert other.epoch == 2 and not _same(other.weights, straight.weights)


def test_save_keeps_optimizer_config_and_state(tmp_path):
    x, y = _blobs(64)
    m = nn.Sequential([nn.Dense(4, "tanh"), nn.Dense(3)])
    m.compile(rc.SGD(lr=0.07, momentum=0.9, weight_decay=1e-4), "cross_entropy", ["acc"])
    m.fit(x, y, epochs=1, batch_size=16, seed=0, verbose=0)
    m.save(tmp_path / "s.rcm")
    back = nn.load_model(tmp_path / "s.rcm")
    assert isinstance(back.optimizer, rc.SGD)
    assert back.optimizer.momentum == 0.9 and back.optimizer.lr == pytest.approx(0.07)
    assert back.optimizer.weight_decay == pytest.approx(1e-4) and back.optimizer.t == 4
    bufs = [st["momentum_buffer"] for st in back.optimizer.state]
    assert all(b is not None for b in bufs)
    assert _same(bufs, [st["momentum_buffer"] for st in m.optimizer.state])
    assert back.metrics == ["accuracy"] and isinstance(back.loss, rc.losses.CrossEntropy)
    # the optimizer state lives after the weights in the plain container
    assert len(rc.load_state_binary(tmp_path / "s.rcm")) == 4 + 4
    # compile=False: the architecture and weights only
    bare = nn.load_model(tmp_path / "s.rcm", compile=False)
    assert bare.optimizer is None and _same(bare.weights, m.weights)


def test_loss_objects_compile_and_save(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = x.sum(axis=1)
    m = nn.Sequential([nn.Dense(1)])
    m.compile("adam", rc.losses.MAE())
    m.fit(x, y, epochs=1, verbose=0, seed=0)
    m.save(tmp_path / "l.rcm")
    back = nn.load_model(tmp_path / "l.rcm")
    assert isinstance(back.loss, rc.losses.MAE)
    assert back.evaluate(x, y) == m.evaluate(x, y)
    m2 = nn.Sequential([nn.Dense(1)])
    m2.compile("sgd", rc.losses.BinaryCrossEntropy(from_logits=True), metrics=["accuracy"])
    yb = (y > 0).astype(np.float32)
    m2.fit(x, yb, epochs=2, verbose=0, seed=0)
    m2.save(tmp_path / "b.rcm")
    back2 = nn.load_model(tmp_path / "b.rcm")
    assert back2.loss.from_logits and back2.evaluate(x, yb) == m2.evaluate(x, yb)


def test_random_streams_are_disjoint():
    """The shuffle of epoch 1000 + i used to be dropout layer i's stream."""
    for base in (0, 7, 2**63 + 5):
        shuffles = {seeding.shuffle_seed(base, e) for e in range(3000)}
        layers = {seeding.layer_seed(base, i, e) for i in range(20) for e in range(50)}
        init = set()
        s = seeding.Seeds(base)
        for _ in range(200):
            init.add(s.next())
        assert not shuffles & layers and not shuffles & init and not layers & init
        for i in range(20):
            assert seeding.shuffle_seed(base, 1000 + i) != seeding.layer_seed(base, i, 0)


def test_dropout_masks_differ_between_layers_and_epochs():
    x = np.ones((64, 32), np.float32)
    y = np.zeros((64, 32), np.float32)
    m = nn.Sequential([nn.Dropout(0.5), nn.Dropout(0.5)])
    m.compile("sgd", "mse")
    m.build((32,), seed=0)
    masks = []
    for _ in range(2):
        m.fit(x, y, epochs=1, batch_size=64, shuffle=False, seed=1, verbose=0)
        masks += [layer._mask.numpy().copy() for layer in m.layers]
    assert not np.array_equal(masks[0], masks[1])  # two layers
    assert not np.array_equal(masks[0], masks[2])  # two epochs


def test_version_1_files_still_load(tmp_path):
    cfg = {
        "format": "rcmlrs.nn.Sequential",
        "version": 1,
        "name": "old",
        "input_shape": [3],
        "layers": [
            {"class": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}}
        ],
        "compile": {"optimizer": "sgd", "loss": "mse", "metrics": ["mae"]},
    }
    w = [rc.ones((1, 3, 2)), rc.zeros((1, 1, 2))]
    rc.save_tensors_binary(tmp_path / "v1.rcm", w, metadata={"rcmlrs_model": json.dumps(cfg)})
    m = nn.load_model(tmp_path / "v1.rcm")
    assert isinstance(m.optimizer, rc.SGD) and m.metrics == ["mae"]
    np.testing.assert_array_equal(m.predict(np.ones((1, 3), np.float32)), [[3.0, 3.0]])


# ------------------------------------------------------------------ hostile files


def _file_bytes(cfg, tensors):
    buf = io.BytesIO()
    meta = {"rcmlrs_model": cfg if isinstance(cfg, str) else json.dumps(cfg)}
    rio._write_binary(buf, tensors, rio._binary_header(tensors, meta, "test"))
    return buf.getvalue()


def _load_bytes(data):
    tensors, meta = rio._read_binary(io.BytesIO(data), len(data), "test")
    return saving.model_from_parts(tensors, meta, "test")


def test_huge_declared_layer_is_refused_before_allocating(tmp_path):
    """The review's 752-byte file declaring Dense(units=2**25) allocated 1.5 GB."""
    cfg = {
        "format": "rcmlrs.nn.Sequential",
        "version": 2,
        "name": "big",
        "input_shape": [12],
        "layers": [{"class": "Dense", "config": {"units": 2**25}}],
        "compile": None,
    }
    path = tmp_path / "big.rcm"
    path.write_bytes(_file_bytes(cfg, [rc.ones((1, 2, 2)), rc.ones((1, 1, 2))]))
    assert path.stat().st_size < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with pytest.raises(rc.FormatError, match=r"\(1, 12, 33554432\)"):
        nn.load_model(path)
    assert time.perf_counter() - t < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def _base_cfg():
    return {
        "format": "rcmlrs.nn.Sequential",
        "version": 2,
        "name": "m",
        "input_shape": [2],
        "layers": [
            {"class": "Dense", "config": {"name": "d", "units": 3, "activation": "relu"}},
            {"class": "Dropout", "config": {"rate": 0.1}},
            {"class": "Dense", "config": {"units": 2}},
        ],
        "compile": {
            "loss": {"name": "cross_entropy"},
            "metrics": ["accuracy"],
            "optimizer": {
                "class": "SGD",
                "config": {
                    "lr": 0.1,
                    "momentum": 0.0,
                    "nesterov": False,
                    "weight_decay": 0.0,
                    "dampening": 0.0,
                },
            },
        },
        "optimizer_state": {"t": 1, "params": [{"step": 1, "momentum_buffer": None}] * 4},
        "training": {"seed": 3, "epoch": 1},
    }


_PARAMS = [(1, 2, 3), (1, 1, 3), (1, 3, 2), (1, 1, 2)]


def _set(cfg, path, value):
    node = cfg
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value


HOSTILE = [
    (("format",), "other"),
    (("version",), 99),
    (("version",), "2"),
    (("version",), True),
    (("name",), 5),
    (("input_shape",), None),
    (("input_shape",), [0]),
    (("input_shape",), [-1]),
    (("input_shape",), [2.0]),
    (("input_shape",), [[2]]),
    (("input_shape",), [2, 3, 4, 5]),
    (("input_shape",), [2**70]),
    (("input_shape",), [True]),
    (("layers",), []),
    (("layers",), {}),
    (("layers",), None),
    (("layers", 0), []),
    (("layers", 0, "class"), "Nope"),
    (("layers", 0, "class"), "__init__"),
    (("layers", 0, "class"), None),
    (("layers", 0, "config"), []),
    (("layers", 0, "config", "units"), 0),
    (("layers", 0, "config", "units"), -3),
    (("layers", 0, "config", "units"), 2.5),
    (("layers", 0, "config", "units"), "3"),
    (("layers", 0, "config", "units"), 10**400),
    (("layers", 0, "config", "units"), 4),
    (("layers", 0, "config", "units"), KeyError),
    (("layers", 0, "config", "activation"), "relux"),
    (("layers", 0, "config", "activation"), 7),
    (("layers", 0, "config", "activation"), ["relu"]),
    (("layers", 0, "config", "name"), {"a": 1}),
    (("layers", 0, "config", "trainable"), "yes"),
    (("layers", 0, "config", "use_bias"), 0),
    (("layers", 0, "config", "kernel_initializer"), "zeroes"),
    (("layers", 0, "config", "input_shape"), [[[]]]),
    (("layers", 0, "config", "extra"), 1),
    (("layers", 1, "config", "rate"), 1.5),
    (("layers", 1, "config", "rate"), -0.1),
    (("layers", 1, "config", "rate"), None),
    (("layers", 1, "class"), "Flatten"),
    (("layers", 1, "class"), "LSTM"),
    (("compile",), []),
    (("compile", "loss"), "hinge"),
    (("compile", "loss"), {"name": 3}),
    (("compile", "loss"), {"name": "mse", "from_logits": True}),
    (("compile", "loss"), {"name": "binary_cross_entropy", "from_logits": [1]}),
    (("compile", "metrics"), ["f2"]),
    (("compile", "metrics"), "accuracy"),
    (("compile", "optimizer"), "adamw"),
    (("compile", "optimizer"), {"class": "Optimizer", "config": {}}),
    (("compile", "optimizer", "config", "lr"), -1.0),
    (("compile", "optimizer", "config", "lr"), "0.1"),
    (("compile", "optimizer", "config", "nesterov"), 1),
    (("compile", "optimizer", "config", "nesterov"), True),
    (("compile", "optimizer", "config", "momentum"), None),
    (("compile", "optimizer", "config", "bogus"), 1),
    (("compile", "optimizer", "config", "dampening"), KeyError),
    (("optimizer_state", "t"), -1),
    (("optimizer_state", "t"), 2**70),
    (("optimizer_state", "params"), []),
    (("optimizer_state", "params"), [{"step": 1}] * 4),
    (("optimizer_state", "params"), [{"step": -1, "momentum_buffer": None}] * 4),
    (("optimizer_state", "params"), [{"step": 1, "momentum_buffer": {"tensor": 0}}] * 4),
    (("optimizer_state", "params"), [{"step": 1, "momentum_buffer": {"tensor": 99}}] * 4),
    (("optimizer_state", "params"), [{"step": 1, "momentum_buffer": "x"}] * 4),
    (("optimizer_state", "params"), [{"step": 1.5, "momentum_buffer": None}] * 4),
    (("optimizer_state", "extra"), 1),
    (("training", "seed"), -1),
    (("training", "seed"), 2**64),
    (("training", "epoch"), "1"),
    (("training",), [1, 2]),
    (("extra",), {}),
]


@pytest.mark.parametrize("path,value", HOSTILE, ids=[f"{p}={v!r}"[:60] for p, v in HOSTILE])
def test_malformed_descriptions_raise_format_error(path, value):
    cfg = _base_cfg()
    _set(cfg, path, value)
    data = _file_bytes(cfg, [rc.zeros(s) for s in _PARAMS])
    with pytest.raises(rc.FormatError):
        _load_bytes(data)


def test_base_description_loads():
    m = _load_bytes(_file_bytes(_base_cfg(), [rc.zeros(s) for s in _PARAMS]))
    assert isinstance(m.optimizer, rc.SGD) and m.epoch == 1 and m.seed == 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '"x"',
        "NaN",
        '{"format": NaN}',
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
        "1" * 5000,
    ],
    ids=lambda t: f"{t[:12]}..{len(t)}",
)
def test_unparsable_descriptions_raise_format_error(text):
    # written by hand: rcmlrs's own writer refuses headers its reader would refuse
    header = json.dumps({"__metadata__": {"rcmlrs_model": text}}).encode()
    with pytest.raises(rc.FormatError):
        _load_bytes(struct.pack("<Q", len(header)) + header)


@pytest.mark.parametrize(
    "shapes",
    [
        [],
        _PARAMS[:3],
        _PARAMS + [(1, 1, 1)],
        [(1, 2, 3), (1, 1, 3), (1, 2, 3), (1, 1, 2)],
        [(2, 2, 3), (1, 1, 3), (1, 3, 2), (1, 1, 2)],
        [(1, 3, 2), (1, 1, 3), (1, 3, 2), (1, 1, 2)],
    ],
)
def test_tensor_shapes_are_checked_against_the_architecture(shapes):
    with pytest.raises(rc.FormatError):
        _load_bytes(_file_bytes(_base_cfg(), [rc.zeros(s) for s in shapes]))


def test_truncated_and_foreign_files(tmp_path):
    m = nn.Sequential([nn.Dense(2)])
    m.compile("adam", "mse")
    m.build((3,))
    p = tmp_path / "m.rcm"
    m.save(p)
    data = p.read_bytes()
    for cut in (0, 7, 8, 20, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.rcm").write_bytes(data[:cut])
        with pytest.raises(rc.FormatError):
            nn.load_model(tmp_path / "cut.rcm")
    header = b'{"__metadata__": {"rcmlrs_model": "{}"}}'
    (tmp_path / "plain.st").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(rc.FormatError, match="bad model description"):
        nn.load_model(tmp_path / "plain.st")


def test_an_optimizer_save_cannot_store_never_comes_back_as_another(tmp_path):
    """A user optimizer class is not silently replaced by Adam on load: save warns, and the
    model loads uncompiled (with a warning) so fit asks for compile."""

    class MySGD:
        def __init__(self):
            self.params = []

        def add_params(self, params):
            self.params += list(params)

        def step(self, grads):
            for p, g in zip(self.params, grads, strict=True):
                p -= g * 0.01

    x, y = _blobs(40)
    model = nn.Sequential([nn.Dense(3)])
    model.compile(MySGD(), "cross_entropy")
    model.fit(x, y, epochs=1, verbose=0, seed=0)
    path = tmp_path / "m.rc"
    with pytest.warns(UserWarning, match="MySGD"):
        model.save(path)
    with pytest.warns(UserWarning, match="uncompiled"):
        back = nn.load_model(path)
    assert back.optimizer is None and back.loss is None
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    with pytest.raises(RuntimeError, match="compile"):
        back.fit(x, y, epochs=1, verbose=0)
