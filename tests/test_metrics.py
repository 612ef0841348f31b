"""rc.nn.metrics (issue 13, item 4): each metric against scikit-learn and by hand, the
epoch-level ones over the whole epoch inside fit/evaluate, compile with names, objects and
functions, and History.plot writing a PNG."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs import nn
from rcmlrs.nn import metrics as M


def _batched(metric, y_true, y_pred, size=7):
    metric.reset_state()
    for s in range(0, len(y_pred), size):
        metric.update_state(y_true[s : s + size], y_pred[s : s + size])
    return metric.result()


def _multi(n=103, k=4, seed=0):
    r = np.random.default_rng(seed)
    return r.integers(0, k, n), r.normal(size=(n, k)).astype(np.float32)


def _binary(n=97, seed=1):
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    return y, (0.4 * y + r.uniform(size=n)).astype(np.float32).reshape(n, 1) / 1.4


# ---------------------------------------------------------------- by hand


def test_hand_cases():
    y = np.array([1, 0, 1, 1, 0, 0])
    p = np.array([0.9, 0.6, 0.4, 0.8, 0.2, 0.5]).reshape(-1, 1)  # 0.5 is not > 0.5
    # tp: rows 0, 3; fp: row 1; fn: row 2
    assert M.get("precision").__class__ is M.Precision
    assert _batched(M.Precision(), y, p, 2) == pytest.approx(2 / 3)
    assert _batched(M.Recall(), y, p, 2) == pytest.approx(2 / 3)
    assert _batched(M.F1Score(), y, p, 2) == pytest.approx(2 / 3)
    assert _batched(M.Accuracy(), y, p, 4) == pytest.approx(4 / 6)
    # AUC: the (pos, neg) pairs ordered right: 0.9 and 0.8 beat all 3, 0.4 beats 0.2
    assert M.roc_auc(y, p) == pytest.approx(7 / 9)
    assert M.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert M.roc_auc([1, 0, 1], [0.2, 0.3, 0.3]) == pytest.approx(0.25)
    assert np.isnan(M.roc_auc([1, 1], [0.2, 0.3]))
    # top-k, ties in favour
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2]])
    assert _batched(M.TopKAccuracy(k=1), np.array([1, 0, 1]), scores) == pytest.approx(1 / 3)
    assert _batched(M.TopKAccuracy(k=2), np.array([1, 0, 1]), scores) == pytest.approx(1.0)
    # r2: perfect, mean, constant targets
    t = np.array([[1.0], [2.0], [3.0]])
    assert _batched(M.R2Score(), t, t) == 1.0
    assert _batched(M.R2Score(), t, np.full((3, 1), 2.0)) == 0.0
    assert _batched(M.R2Score(), np.ones((3, 1)), np.zeros((3, 1))) == 0.0
    assert _batched(M.MeanAbsoluteError(), t, t + 0.5) == pytest.approx(0.5)
    assert _batched(M.MeanSquaredError(), t, t + 0.5) == pytest.approx(0.25)


# ---------------------------------------------------------------- scikit-learn


def test_multiclass_metrics_match_sklearn():
    skm = require("sklearn.metrics")
    y, p = _multi()
    pred = p.argmax(1)
    onehot = np.eye(4, dtype=np.float32)[y]
    for yt in (y, onehot):  # labels or one-hot targets
        assert _batched(M.Accuracy(), yt, p) == pytest.approx(skm.accuracy_score(y, pred))
        for metric, fn in (
            (M.Precision(), skm.precision_score),
            (M.Recall(), skm.recall_score),
            (M.F1Score(), skm.f1_score),
        ):
            want = fn(y, pred, average="macro", zero_division=0)
            assert _batched(metric, yt, p) == pytest.approx(want, rel=1e-12)
        for k in (1, 2, 3):
            want = skm.top_k_accuracy_score(y, p, k=k, labels=range(4))
            assert _batched(M.TopKAccuracy(k=k), yt, p) == pytest.approx(want)


def test_macro_uses_the_classes_present_like_sklearn():
    skm = require("sklearn.metrics")
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.eye(5, dtype=np.float32)[[0, 1, 1, 3, 1, 0]]  # class 3 predicted, never true
    for metric, fn in (
        (M.Precision(), skm.precision_score),
        (M.Recall(), skm.recall_score),
        (M.F1Score(), skm.f1_score),
    ):
        want = fn(y, p.argmax(1), average="macro", zero_division=0)
        assert _batched(metric, y, p, 4) == pytest.approx(want)


def test_binary_metrics_match_sklearn():
    skm = require("sklearn.metrics")
    y, p = _binary()
    pred = (p[:, 0] > 0.5).astype(int)
    assert _batched(M.Precision(), y, p) == pytest.approx(skm.precision_score(y, pred))
    assert _batched(M.Recall(), y, p) == pytest.approx(skm.recall_score(y, pred))
    assert _batched(M.F1Score(), y, p) == pytest.approx(skm.f1_score(y, pred))
    assert _batched(M.AUC(), y, p) == pytest.approx(skm.roc_auc_score(y, p[:, 0]), abs=1e-12)
    # heavy ties
    q = np.round(p * 4) / 4
    assert _batched(M.AUC(), y, q) == pytest.approx(skm.roc_auc_score(y, q[:, 0]), abs=1e-12)


def test_regression_metrics_match_sklearn():
    skm = require("sklearn.metrics")
    r = np.random.default_rng(3)
    t = r.normal(size=(50, 3))
    p = t + r.normal(scale=[0.1, 1.0, 3.0], size=(50, 3))
    assert _batched(M.MeanSquaredError(), t, p) == pytest.approx(skm.mean_squared_error(t, p))
    assert _batched(M.MeanAbsoluteError(), t, p) == pytest.approx(skm.mean_absolute_error(t, p))
    assert _batched(M.R2Score(), t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)
    t[:, 1] = 2.0  # a constant output: sklearn's force_finite rule
    assert _batched(M.R2Score(), t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)


# ---------------------------------------------------------------- in fit / evaluate


def _clf_model(units, act, loss, metrics):
    model = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(units, act)])
    model.compile(rc.SGD(lr=0.05), loss, metrics=metrics)
    return model


def test_epoch_level_metrics_in_evaluate_match_sklearn_on_predict():
    skm = require("sklearn.metrics")
    r = np.random.default_rng(4)
    x = r.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * r.normal(size=300) > 0).astype(np.float32)
    model = _clf_model(
        1, "sigmoid", "binary_cross_entropy", ["accuracy", "auc", "f1", "precision", "recall"]
    )
    model.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    logs = model.evaluate(x, y, batch_size=32)  # several batches: not a mean of batch values
    prob = model.predict(x)[:, 0]
    pred = (prob > 0.5).astype(int)
    assert logs["auc"] == pytest.approx(skm.roc_auc_score(y, prob), abs=1e-6)
    assert logs["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-6)
    assert logs["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-6)
    assert logs["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-6)
    assert logs["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)


def test_multiclass_and_regression_in_fit_and_validation():
    skm = require("sklearn.metrics")
    r = np.random.default_rng(5)
    x = r.normal(size=(200, 3)).astype(np.float32)
    y = np.argmax(x @ r.normal(size=(3, 4)), axis=1)
    model = _clf_model(4, None, "cross_entropy", ["accuracy", M.TopKAccuracy(k=2), "f1"])
    h = model.fit(x, y, epochs=2, batch_size=32, validation_data=(x, y), seed=1, verbose=0)
    assert set(h.history) == {
        "loss", "accuracy", "top_k_accuracy", "f1",
        "val_loss", "val_accuracy", "val_top_k_accuracy", "val_f1",
    }  # fmt: skip
    logits = model.predict(x)
    assert h.history["val_f1"][-1] == pytest.approx(
        skm.f1_score(y, logits.argmax(1), average="macro"), abs=1e-6
    )
    assert h.history["val_top_k_accuracy"][-1] == pytest.approx(
        skm.top_k_accuracy_score(y, logits, k=2), abs=1e-6
    )
    t = x @ r.normal(size=(3, 2)).astype(np.float32)
    reg = nn.Sequential([nn.Dense(2)])
    reg.compile("adam", "mse", metrics=["mse", "mae", "r2"])
    reg.fit(x, t, epochs=3, seed=0, verbose=0)
    logs = reg.evaluate(x, t, batch_size=50)
    out = reg.predict(x)
    assert logs["r2"] == pytest.approx(skm.r2_score(t, out), abs=1e-5)
    assert logs["mae"] == pytest.approx(skm.mean_absolute_error(t, out), rel=1e-5)
    assert logs["mse"] == pytest.approx(logs["loss"], rel=1e-5)


def test_compile_accepts_functions_and_objects_and_rejects_bad_ones(tmp_path):
    def max_err(y_true, y_pred):
        return np.abs(y_true - y_pred).max(axis=1)  # per row: averaged over rows

    x = np.linspace(-1, 1, 40, dtype=np.float32).reshape(20, 2)
    t = x.sum(axis=1, keepdims=True)
    model = nn.Sequential([nn.Dense(1)])
    model.compile("sgd", "mse", metrics=[max_err, M.MeanAbsoluteError(name="l1")])
    model.fit(x, t, epochs=1, seed=0, verbose=0)
    logs = model.evaluate(x, t, batch_size=6)
    out = model.predict(x)
    assert logs["max_err"] == pytest.approx(np.abs(t - out).max(axis=1).mean(), rel=1e-6)
    assert logs["l1"] == pytest.approx(np.abs(t - out).mean(), rel=1e-6)
    with pytest.warns(UserWarning, match="max_err"):
        model.save(tmp_path / "m.rcml")
    assert nn.load_model(tmp_path / "m.rcml").metrics == ["l1"]
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile("sgd", "mse", metrics=["f2"])
    with pytest.raises(ValueError, match="distinct"):
        model.compile("sgd", "mse", metrics=["mae", "mean_absolute_error"])
    with pytest.raises(TypeError):
        model.compile("sgd", "mse", metrics=[3])


def test_configured_metric_survives_save_and_load(tmp_path):
    y, x = _multi(40, 4, 6)
    model = _clf_model(4, "softmax", "cross_entropy", [M.TopKAccuracy(k=3), "auc"])
    model.build((4,), seed=0)
    model.save(tmp_path / "m.rcml")
    back = nn.load_model(tmp_path / "m.rcml")
    assert back.metrics == ["top_k_accuracy", "auc"] and back._metric_objs[0].k == 3


# ---------------------------------------------------------------- History.plot


def test_history_plot_writes_a_png(tmp_path):
    require("matplotlib")
    h = nn.History()
    for e in range(3):
        h.append(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e, "val_loss": 1.2 / (e + 1)})
    path = tmp_path / "curves.png"
    h.plot(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_history_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    h = nn.History()
    h.append(0, {"loss": 1.0})
    with pytest.raises(ImportError, match=r"pip install rcmlrs\[plot\]"):
        h.plot(tmp_path / "x.png")
