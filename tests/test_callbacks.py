"""rc.nn.callbacks against Keras's documented semantics: hooks driven directly with
scripted logs, and the same callbacks through fit."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn
from rcmlrs.nn import callbacks as cbm


class _FakeOpt:
    def __init__(self, lr):
        self.lr = lr


class _FakeModel:
    """Stands in for a model: weights are a counter, so restores can be seen."""

    def __init__(self, lr=1.0):
        self.optimizer = _FakeOpt(lr)
        self.stop_training = False
        self.w = 0

    def get_weights(self):
        return [self.w]

    def set_weights(self, ws):
        self.w = ws[0]


def _drive(cb, values, key="val_loss", model=None):
    """Run the epoch hooks over scripted values; returns (model, epochs run)."""
    model = model or _FakeModel()
    cb.set_model(model)
    cb.on_train_begin({})
    ran = 0
    for epoch, v in enumerate(values):
        model.w = epoch  # the "weights" after this epoch
        cb.on_epoch_begin(epoch, {})
        cb.on_epoch_end(epoch, {key: v})
        ran += 1
        if model.stop_training:
            break
    cb.on_train_end({})
    return model, ran


def _blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.normal(size=(n, 4)) + y[:, None]).astype(np.float32)
    return x, y


def _mlp(lr=1e-2):
    m = nn.Sequential([nn.Dense(8, "relu"), nn.Dense(3)])
    m.compile(rc.Adam(lr=lr), "cross_entropy", metrics=["accuracy"])
    return m


# ---------------------------------------------------------------------- EarlyStopping


def test_early_stopping_patience_counts_non_improving_epochs():
    # best at epoch 1 (0.5); epochs 2, 3, 4 do not improve
    vals = [1.0, 0.5, 0.6, 0.7, 0.8, 0.1]
    _, ran = _drive(cbm.EarlyStopping(patience=0), vals)
    assert ran == 3  # stops at epoch 2, the first that does not improve
    _, ran = _drive(cbm.EarlyStopping(patience=2), vals)
    assert ran == 4  # wait 1 at epoch 2, 2 at epoch 3: stop
    es = cbm.EarlyStopping(patience=3)
    _, ran = _drive(es, vals)
    assert ran == 5 and es.stopped_epoch == 4 and es.best == 0.5 and es.best_epoch == 1
    _, ran = _drive(cbm.EarlyStopping(patience=10), vals)
    assert ran == 6


def test_early_stopping_never_stops_at_the_first_epoch():
    # Keras: "Only check after the first epoch" (a NaN never improves on inf)
    # epoch 0 (NaN never improves on inf) does not stop; epoch 1 improves; epoch 2 stops
    es = cbm.EarlyStopping(patience=0)
    _, ran = _drive(es, [float("nan"), 1.0, 2.0])
    assert ran == 3 and es.stopped_epoch == 2


def test_early_stopping_min_delta_and_mode():
    # improvements smaller than min_delta do not count
    es = cbm.EarlyStopping(patience=2, min_delta=0.1)
    _, ran = _drive(es, [1.0, 0.95, 0.92, 0.5])
    assert ran == 3 and es.best == 1.0
    # a negative min_delta means the same as its absolute value (Keras)
    es = cbm.EarlyStopping(patience=2, min_delta=-0.1)
    _, ran = _drive(es, [1.0, 0.95, 0.92, 0.5])
    assert ran == 3
    # "auto" maximises accuracies
    es = cbm.EarlyStopping(monitor="val_accuracy", patience=0)
    assert es.mode == "max"
    _, ran = _drive(es, [0.5, 0.7, 0.6, 0.9], key="val_accuracy")
    assert ran == 3 and es.best == 0.7
    es = cbm.EarlyStopping(monitor="val_loss", patience=0, mode="max")
    _, ran = _drive(es, [0.5, 0.7, 0.6], key="val_loss")
    assert ran == 3
    with pytest.raises(ValueError, match="mode"):
        cbm.EarlyStopping(mode="down")
    with pytest.raises(ValueError, match="patience"):
        cbm.EarlyStopping(patience=-1)


def test_early_stopping_baseline():
    # improvements that do not beat the baseline do not reset the wait (Keras), so the
    # first epoch that does not improve stops: wait is 4 by then
    vals = [1.0, 0.9, 0.8, 0.85, 0.84]
    es = cbm.EarlyStopping(patience=2, baseline=0.4)
    _, ran = _drive(es, vals)
    assert ran == 4 and es.stopped_epoch == 3
    es = cbm.EarlyStopping(patience=2)
    _, ran = _drive(es, vals)
    assert ran == 5 and es.stopped_epoch == 4


def test_early_stopping_restores_best_at_train_end():
    es = cbm.EarlyStopping(patience=1, restore_best_weights=True)
    model, ran = _drive(es, [1.0, 0.3, 0.5, 0.6, 0.1])
    assert ran == 3 and model.w == 1  # the weights of epoch 1
    es = cbm.EarlyStopping(patience=10, restore_best_weights=True)
    model, _ = _drive(es, [1.0, 0.3, 0.5])
    assert model.w == 1  # also when training ends without a stop (Keras 3)


def test_early_stopping_missing_key_warns_once_and_does_nothing():
    es = cbm.EarlyStopping(patience=0)
    with pytest.warns(RuntimeWarning, match="val_loss"):
        _, ran = _drive(es, [1.0, 2.0, 3.0], key="loss")
    assert ran == 3


def test_early_stopping_restores_weights_bit_for_bit_in_fit(tmp_path):
    x, y = _blobs()

    class Saver(cbm.Callback):
        def __init__(self):
            super().__init__()
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append([w.numpy().copy() for w in self.model.weights])

    saver = Saver()
    es = cbm.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    m = _mlp(lr=0.2)  # a large rate: the validation loss wanders
    h = m.fit(
        x,
        y,
        epochs=25,
        batch_size=8,
        validation_split=0.25,
        seed=3,
        verbose=0,
        callbacks=[saver, es],
    )
    vl = h.history["val_loss"]
    best = int(np.argmin(vl))
    assert es.best_epoch == best and es.best == vl[best]
    assert len(vl) == len(saver.weights)
    for a, b in zip(m.weights, saver.weights[best], strict=True):
        assert a.numpy().tobytes() == b.tobytes()
    if es.stopped_epoch:
        assert len(vl) == es.stopped_epoch + 1 and len(vl) - 1 - best >= 2


# ---------------------------------------------------------------------- ReduceLROnPlateau


def _lr_sequence(cb, values, lr=1.0):
    model = _FakeModel(lr)
    cb.set_model(model)
    cb.on_train_begin({})
    lrs = []
    for epoch, v in enumerate(values):
        logs = {"val_loss": v}
        cb.on_epoch_end(epoch, logs)
        assert logs["lr"] == lrs[-1] if lrs else logs["lr"] == lr  # lr before this epoch's change
        lrs.append(model.optimizer.lr)
    return lrs


def test_reduce_lr_on_plateau_sequence():
    vals = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8]
    cb = cbm.ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0)
    assert _lr_sequence(cb, vals) == [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    # cooldown: after a reduction, `cooldown` epochs pass without counting
    cb = cbm.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0, cooldown=2)
    # (Keras: the epoch that ends the cooldown already counts towards the patience)
    assert _lr_sequence(cb, [1.0] * 8) == [1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]
    # min_lr floors the rate, and no reduction happens at the floor
    cb = cbm.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)
    assert _lr_sequence(cb, [1.0] * 4) == [1, 0.1, 0.05, 0.05]
    # min_delta: 0.95 is not an improvement on 1.0 by more than 0.1
    cb = cbm.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1)
    assert _lr_sequence(cb, [1.0, 0.95, 0.5]) == [1, 0.5, 0.5]
    with pytest.raises(ValueError, match="factor"):
        cbm.ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_on_plateau_through_fit_changes_the_live_rate():
    x, y = _blobs()
    m = _mlp()
    cb = cbm.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    h = m.fit(x, y, epochs=4, verbose=0, seed=0, callbacks=[cb])
    # min_delta 10: nothing improves after epoch 0's best=loss... every epoch from 1 reduces
    assert h.history["lr"] == [0.01, 0.01, 0.005, 0.0025]
    assert m.optimizer.lr == 0.00125


# ---------------------------------------------------------------------- schedulers


def test_learning_rate_scheduler_sets_the_rate_each_epoch_and_is_used():
    x, y = _blobs()
    seen = []

    class Spy(cbm.Callback):
        def on_batch_begin(self, batch, logs=None):
            if batch == 0:
                seen.append(self.model.optimizer.lr)

    sched = cbm.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    m = _mlp()
    h = m.fit(x, y, epochs=3, verbose=0, seed=0, callbacks=[sched, Spy()])
    assert seen == [0.1, 0.05, 0.025] and h.history["lr"] == seen
    # the rate is live: a schedule of 0 leaves the weights unchanged
    m2 = _mlp()
    m2.build((4,), seed=0)
    before = [w.numpy().copy() for w in m2.weights]
    m2.fit(x, y, epochs=2, verbose=0, callbacks=[cbm.LearningRateScheduler(lambda e, lr: 0.0)])
    assert all(np.array_equal(a.numpy(), b) for a, b in zip(m2.weights, before, strict=True))
    with pytest.raises(ValueError, match="schedule returned"):
        m2.fit(x, y, verbose=0, callbacks=[cbm.LearningRateScheduler(lambda e, lr: -1.0)])


# ---------------------------------------------------------------------- checkpoint, csv


def test_model_checkpoint_formats_the_path_and_saves_best_only(tmp_path):
    x, y = _blobs()
    every = cbm.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.rcml"), save_best_only=False)
    m = _mlp(lr=0.2)
    h = m.fit(
        x,
        y,
        epochs=6,
        batch_size=8,
        validation_split=0.25,
        seed=3,
        verbose=0,
        callbacks=[every],
    )
    assert every.saved == [str(tmp_path / f"e{i:02d}.rcml") for i in range(1, 7)]
    # the file of the last epoch predicts as the model does
    back = nn.load_model(every.saved[-1])
    assert np.array_equal(back.predict(x), m.predict(x))

    best = cbm.ModelCheckpoint(
        str(tmp_path / "b{epoch}-{val_loss:.4f}.rcml"), monitor="val_loss", save_best_only=True
    )
    m = _mlp(lr=0.2)
    h = m.fit(
        x,
        y,
        epochs=6,
        batch_size=8,
        validation_split=0.25,
        seed=3,
        verbose=0,
        callbacks=[best],
    )
    vl = h.history["val_loss"]
    improved = [i for i in range(6) if vl[i] < min(vl[:i], default=math.inf)]
    assert best.saved == [str(tmp_path / f"b{i + 1}-{vl[i]:.4f}.rcml") for i in improved]
    assert best.best == min(vl)
    with pytest.raises(ValueError, match="cannot format"):
        m.fit(x, y, verbose=0, callbacks=[cbm.ModelCheckpoint(str(tmp_path / "{nope}"))])


def test_model_checkpoint_weights_only_for_a_subclassed_model(tmp_path):
    class Net(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.Dense(3)

        def call(self, x, training=False):
            return self.d(x)

    x, y = _blobs(32)
    m = Net()
    m.compile("adam", "cross_entropy")
    cb = cbm.ModelCheckpoint(str(tmp_path / "w{epoch}.bin"), save_weights_only=True)
    m.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    n2 = Net()
    n2.load_weights(cb.saved[-1])
    assert np.array_equal(n2.predict(x), m.predict(x))


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger(tmp_path):
    x, y = _blobs()
    path = tmp_path / "log.csv"
    m = _mlp()
    h = m.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[cbm.CSVLogger(path)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [float(r[2]) for r in rows[1:]] == h.history["loss"]
    # append: no second header; without append the file starts anew
    log = cbm.CSVLogger(path, append=True)
    m.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[log])
    rows = _rows(path)
    assert len(rows) == 6 and rows[4][0] == "0" and rows.count(rows[0]) == 1
    m.fit(x, y, epochs=1, verbose=0, callbacks=[cbm.CSVLogger(path)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss"] and len(rows) == 2


# ---------------------------------------------------------------------- NaN, hooks, History


def test_terminate_on_nan_stops_without_applying_the_bad_step(capsys):
    x, y = _blobs()
    x = x.copy()
    x[40] = np.nan  # batch 1 of an unshuffled epoch of 32
    m = _mlp()
    m.build((4,), seed=0)
    with pytest.raises(nn.NonFiniteLossError, match="TerminateOnNaN"):
        m.fit(x, y, epochs=2, shuffle=False, verbose=0)
    m = _mlp()
    m.build((4,), seed=0)
    h = m.fit(x, y, epochs=3, shuffle=False, verbose=0, callbacks=[cbm.TerminateOnNaN()])
    assert "invalid loss" in capsys.readouterr().out
    assert len(h.epoch) == 1 and math.isnan(h.history["loss"][0])
    assert all(np.all(np.isfinite(w.numpy())) for w in m.weights)
    # only the first batch was applied: the same weights as one step on it
    ref = _mlp()
    ref.build((4,), seed=0)
    ref.fit(x[:32], y[:32], epochs=1, shuffle=False, verbose=0)
    assert all(
        a.numpy().tobytes() == b.numpy().tobytes()
        for a, b in zip(m.weights, ref.weights, strict=True)
    )


def test_hook_order_logs_and_stop_training():
    x, y = _blobs()
    calls = []

    class Rec(cbm.Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.params["epochs"], self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch, logs["size"]))
            assert set(logs) == {"batch", "size", "loss"}
            if batch == 1 and len([c for c in calls if c[0] == "epoch_begin"]) == 2:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            calls.append(("train_end",))

    m = _mlp()
    h = m.fit(x, y, epochs=5, batch_size=40, validation_data=(x, y), verbose=0, callbacks=[Rec()])
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert calls == [
        ("train_begin", 5, 3),
        ("epoch_begin", 0),
        ("batch_end", 0, 40),
        ("batch_end", 1, 40),
        ("batch_end", 2, 16),
        ("epoch_end", 0, keys),
        ("epoch_begin", 1),
        ("batch_end", 0, 40),
        ("batch_end", 1, 40),  # stop_training here: the epoch ends after this batch
        ("epoch_end", 1, keys),
        ("train_end",),
    ]
    assert h.epoch == [0, 1] and isinstance(h, cbm.Callback) and h.model is m
    assert cbm.History is nn.History


def test_bad_callbacks_are_type_errors():
    x, y = _blobs(8)
    m = _mlp()
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        m.fit(x, y, verbose=0, callbacks=[lambda: None])
    with pytest.raises(TypeError, match="callbacks must be"):
        m.fit(x, y, verbose=0, callbacks=3)
