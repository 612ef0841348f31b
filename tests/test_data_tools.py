"""rc.data's tools: scalers, one_hot, train_test_split (against scikit-learn where it has
the same function) and load_csv's names and error positions."""

import json

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs.data import MinMaxScaler, StandardScaler


def _data(rng, shape=(50, 4)):
    x = rng.normal(size=shape) * np.array([1.0, 10.0, 0.01, 1e3])[: shape[-1]]
    return (x + np.array([5.0, -3.0, 0.5, 1e4])[: shape[-1]]).astype(np.float32)


# ------------------------------------------------------------------ StandardScaler
def test_standard_scaler_matches_sklearn(rng):
    pre = require("sklearn.preprocessing")
    x = _data(rng)
    x[:, 2] = 7.25  # a constant feature scales by 1, as in scikit-learn
    xt = _data(rng, (13, 4))
    for kw in ({}, {"with_mean": False}, {"with_std": False}):
        ours = StandardScaler(**kw)
        assert ours.fit(x) is ours
        # rcmlrs computes in float64 and rounds once: compare with scikit-learn on float64
        ref = pre.StandardScaler(**kw).fit(x.astype(np.float64))
        for k in ("mean_", "var_", "scale_"):
            a, b = getattr(ours, k), getattr(ref, k)
            if b is None:
                assert a is None
            else:
                assert a.dtype == np.float64
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        got = ours.transform(xt)
        assert got.dtype == np.float32 and got.shape == xt.shape
        want = ref.transform(xt.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ours.inverse_transform(got), xt, rtol=1e-5, atol=1e-3)
        assert ours.n_features_in_ == 4 and ours.n_samples_seen_ == 50
    assert StandardScaler().fit(x).scale_[2] == 1.0
    # float64 stays float64, with scikit-learn's values to rounding
    x64 = x.astype(np.float64)
    got64 = StandardScaler().fit_transform(x64)
    assert got64.dtype == np.float64
    np.testing.assert_allclose(got64, pre.StandardScaler().fit_transform(x64), rtol=1e-12)


def test_standard_scaler_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 10.0]], np.float32)
    sc = StandardScaler().fit(x)
    np.testing.assert_array_equal(sc.mean_, [2.0, 10.0])
    np.testing.assert_array_equal(sc.var_, [1.0, 0.0])
    np.testing.assert_array_equal(sc.scale_, [1.0, 1.0])
    np.testing.assert_array_equal(sc.transform(x), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(sc.transform([[5, 12]]), [[3.0, 2.0]])  # ints in


def test_scalers_per_feature_last_axis(rng):
    """(n, T, f) and (n, H, W, C): every axis but the last is a sample axis."""
    seq = _data(rng, (6, 5, 3))
    sc = StandardScaler().fit(seq)
    flat = seq.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(sc.mean_, flat.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sc.scale_, flat.std(0), rtol=1e-12)
    z = sc.transform(seq)
    assert z.shape == (6, 5, 3)
    np.testing.assert_allclose(z.reshape(-1, 3).mean(0), 0, atol=1e-5)
    img = rng.uniform(0, 255, size=(4, 3, 3, 2)).astype(np.float32)
    mm = MinMaxScaler().fit(img)
    out = mm.transform(img)
    assert out.shape == img.shape
    np.testing.assert_allclose(out.reshape(-1, 2).min(0), 0, atol=1e-6)
    np.testing.assert_allclose(out.reshape(-1, 2).max(0), 1, atol=1e-6)
    # a RamTensor (1, n, f) is n samples of f features
    x = _data(rng, (8, 3))
    np.testing.assert_array_equal(
        StandardScaler().fit_transform(rc.tensor(x))[0], StandardScaler().fit_transform(x)
    )


def test_scaler_errors(rng):
    x = _data(rng, (10, 3))
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(x)
    sc = StandardScaler().fit(x)
    with pytest.raises(rc.ShapeError, match=r"fitted on 3 features, got shape \(2, 4\)"):
        sc.transform(np.zeros((2, 4)))
    with pytest.raises(rc.ShapeError, match="reshape"):
        StandardScaler().fit(np.arange(5.0))
    with pytest.raises(ValueError, match="no samples"):
        StandardScaler().fit(np.zeros((0, 3)))
    bad = x.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"feature 1 holds nan \(row 4\)"):
        MinMaxScaler().fit(bad)
    with pytest.raises(TypeError, match="dtype"):
        StandardScaler().fit(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="smaller than max"):
        MinMaxScaler((1, 0))
    with pytest.raises(TypeError, match="feature_range"):
        MinMaxScaler(3)
    with pytest.raises(TypeError, match="with_mean"):
        StandardScaler(with_mean=1)
    assert "not fitted" in repr(MinMaxScaler()) and "with_std=True" in repr(sc)


# ------------------------------------------------------------------ MinMaxScaler
def test_minmax_scaler_matches_sklearn(rng):
    pre = require("sklearn.preprocessing")
    x = _data(rng)
    x[:, 0] = -2.5  # constant
    xt = _data(rng, (9, 4)) * 1.5
    for kw in ({}, {"feature_range": (-1, 3)}, {"feature_range": (0, 1), "clip": True}):
        ours = MinMaxScaler(**kw).fit(x)
        ref = pre.MinMaxScaler(**kw).fit(x.astype(np.float64))
        for k in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
            np.testing.assert_allclose(getattr(ours, k), getattr(ref, k), rtol=1e-12)
        got = ours.transform(xt)
        assert got.dtype == np.float32
        want = ref.transform(xt.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            ours.inverse_transform(ours.transform(x)), x, rtol=1e-5, atol=1e-2
        )


def test_minmax_by_hand():
    x = np.array([[0.0, 5.0], [10.0, 5.0], [5.0, 5.0]])
    mm = MinMaxScaler(feature_range=(-1, 1)).fit(x)
    np.testing.assert_array_equal(mm.transform(x), [[-1, -1], [1, -1], [0, -1]])
    np.testing.assert_array_equal(mm.inverse_transform([[1.0, -1.0]]), [[10.0, 5.0]])
    assert MinMaxScaler(clip=True).fit(x).transform([[20.0, 5.0]]).tolist() == [[1.0, 0.0]]


# ------------------------------------------------------------------ saving scalers
@pytest.mark.parametrize("make", [StandardScaler, lambda: MinMaxScaler((-2, 2), clip=True)])
def test_scaler_config_and_files_round_trip(rng, tmp_path, make):
    x = _data(rng, (20, 4))
    sc = make().fit(x)
    cfg = sc.get_config()
    assert json.loads(json.dumps(cfg)) == cfg  # JSON-able
    again = type(sc).from_config(json.loads(json.dumps(cfg)))
    assert np.array_equal(again.transform(x), sc.transform(x))  # exact: floats round-trip
    d = sc.to_dict()
    assert d["class_name"] == type(sc).__name__
    assert np.array_equal(rc.data.scaler_from_dict(d).transform(x), sc.transform(x))
    p = tmp_path / "model.scaler.json"
    sc.save(p)
    loaded = type(sc).load(p)
    assert type(loaded) is type(sc) and repr(loaded) == repr(sc)
    assert np.array_equal(loaded.inverse_transform(x), sc.inverse_transform(x))
    other = MinMaxScaler if isinstance(sc, StandardScaler) else StandardScaler
    with pytest.raises(ValueError, match=f"not a {other.__name__}"):
        other.load(p)
    # an unfitted scaler round-trips as unfitted
    assert not type(sc).from_config(make().get_config()).fitted


def test_scaler_file_errors(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a scaler file"):
        StandardScaler.load(p)
    p.write_text(json.dumps({"format": "rcmlrs-scaler", "version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        StandardScaler.load(p)
    with pytest.raises(ValueError, match="unknown scaler 'Nope'"):
        rc.data.scaler_from_dict({"class_name": "Nope", "config": {}})
    cfg = StandardScaler().fit(np.eye(3)).get_config()
    cfg["mean"] = [0.0]
    with pytest.raises(ValueError, match="mean has 1 values for 3 features"):
        StandardScaler.from_config(cfg)


# ------------------------------------------------------------------ one_hot
def test_one_hot():
    got = rc.data.one_hot([2, 0, 1, 2])
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == (4, 3)
    np.testing.assert_array_equal(got, np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])
    assert rc.data.one_hot(np.array([1, 0]), 5).shape == (2, 5)
    assert rc.data.one_hot([], 3).shape == (0, 3)
    assert rc.data.one_hot(np.array([0.0, 3.0])).shape == (2, 4)  # whole floats are fine
    np.testing.assert_array_equal(rc.data.one_hot([1, 0], 2), rc.one_hot([1, 0], 2).numpy()[0])
    # the same checks (and messages) as rc.one_hot
    for bad, n in (([0, 3], 3), ([-1, 0], None), ([0.5], None), ([np.nan], None)):
        with pytest.raises(ValueError, match="one_hot: label") as ours:
            rc.data.one_hot(bad, n)
        if n is not None:
            with pytest.raises(ValueError) as theirs:
                rc.one_hot(bad, n)
            assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="whole numbers"):
        rc.data.one_hot("abc")
    with pytest.raises(TypeError, match="whole numbers"):
        rc.data.one_hot([True, False])


# ------------------------------------------------------------------ train_test_split
def test_train_test_split_sizes_match_sklearn():
    ms = require("sklearn.model_selection")
    for n in (4, 10, 37, 100):
        a = np.arange(n)
        for kw in (
            {},
            {"test_size": 0.3},
            {"test_size": 0.07},
            {"test_size": 3},
            {"train_size": 0.6},
            {"train_size": 2, "test_size": 1},
        ):
            ref = ms.train_test_split(a, **kw, random_state=0)
            got = rc.data.train_test_split(a, **kw, seed=0)
            assert [len(p) for p in got] == [len(p) for p in ref], (n, kw)
        ref = ms.train_test_split(a, test_size=0.3, shuffle=False)
        got = rc.data.train_test_split(a, test_size=0.3, shuffle=False)
        assert [p.tolist() for p in got] == [p.tolist() for p in ref]


def test_train_test_split_stratify_matches_sklearn_proportions():
    ms = require("sklearn.model_selection")
    rng = np.random.default_rng(3)
    for counts, test_size in (
        ([50, 30, 20], 0.25),
        ([7, 13, 2, 40], 0.3),
        ([5, 5], 0.5),
        ([90, 10], 20),
        ([33, 21, 9, 4, 3], 0.2),
    ):
        y = np.repeat(np.arange(len(counts)), counts)
        rng.shuffle(y)
        x = np.arange(len(y) * 2, dtype=np.float32).reshape(-1, 2)
        xtr, xte, ytr, yte = rc.data.train_test_split(x, y, test_size=test_size, stratify=y, seed=1)
        r = ms.train_test_split(x, y, test_size=test_size, stratify=y, random_state=1)
        k = len(counts)
        ours, ref = np.bincount(yte, minlength=k), np.bincount(r[3], minlength=k)
        assert len(yte) == len(r[3]) and len(ytr) == len(r[2])
        # scikit-learn breaks ties between equal remainders at random, rcmlrs by class order
        assert np.abs(ours - ref).max() <= 1, (counts, ours, ref)
        expect = np.array(counts) * len(yte) / len(y)
        assert np.all(np.abs(ours - expect) < 1)
        assert sorted(np.concatenate([xtr[:, 0], xte[:, 0]]).tolist()) == x[:, 0].tolist()
        # the rows stay paired with their labels
        np.testing.assert_array_equal(y[(xte[:, 0] / 2).astype(int)], yte)


def test_train_test_split_by_hand():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    a = rc.data.train_test_split(x, y, test_size=0.3, seed=5)
    b = rc.data.train_test_split(x, y, test_size=0.3, seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    xtr, xte, ytr, yte = a
    assert len(xte) == 3 and len(xtr) == 7
    np.testing.assert_array_equal(xtr[:, 0], 2 * ytr)
    assert sorted(ytr.tolist() + yte.tolist()) == list(range(10))
    # one array, three arrays; the older positional and test_fraction forms
    assert [len(p) for p in rc.data.train_test_split(y)] == [7, 3]
    assert len(rc.data.train_test_split(x, y, y, test_size=2)) == 6
    old = rc.data.train_test_split(x, y, 0.2, seed=0)
    assert all(
        np.array_equal(p, q)
        for p, q in zip(old, rc.data.train_test_split(x, y, test_fraction=0.2, seed=0), strict=True)
    )
    assert len(old[1]) == 2
    # stratified with a 2-class even split: exact halves
    lab = np.array([0, 1] * 5)
    _, _, ytr, yte = rc.data.train_test_split(x, lab, test_size=0.4, stratify=lab, seed=0)
    assert np.bincount(yte).tolist() == [2, 2] and np.bincount(ytr).tolist() == [3, 3]


def test_train_test_split_errors():
    x, y = np.zeros((10, 2)), np.arange(10)
    with pytest.raises(rc.ShapeError, match="array 1 has 9"):
        rc.data.train_test_split(x, y[:9])
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        rc.data.train_test_split(x, test_size=1.5)
    with pytest.raises(ValueError, match="between 1 and 9"):
        rc.data.train_test_split(x, test_size=10)
    with pytest.raises(ValueError, match="exceed"):
        rc.data.train_test_split(x, test_size=0.5, train_size=0.6)
    with pytest.raises(ValueError, match="shuffle=True"):
        rc.data.train_test_split(x, y, stratify=y % 2, shuffle=False)
    with pytest.raises(ValueError, match="only 1 sample"):
        rc.data.train_test_split(x, y, stratify=np.r_[np.zeros(9), 1])
    with pytest.raises(ValueError, match="cannot hold all 5 classes"):
        rc.data.train_test_split(x, y, test_size=2, stratify=y % 5)
    with pytest.raises(TypeError, match="at least one array"):
        rc.data.train_test_split()
    with pytest.raises(TypeError, match="test_size"):
        rc.data.train_test_split(x, test_size="half")


# ------------------------------------------------------------------ load_csv
def test_load_csv_return_names_and_cell_positions(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2,0\n3,4,1\n")
    x, y, names = rc.data.load_csv(p, return_names=True)
    assert names == ["a", "b"] and x.shape == (2, 2) and y.tolist() == [0, 1]
    q = tmp_path / "missing.csv"
    q.write_text("a,b,label\n1,2,0\n\n3,,1\n")
    # line 4 as an editor counts it (the blank line 3 included), column 2 (1-based)
    with pytest.raises(ValueError, match=r"line 4, column 2 \('b'\): missing value"):
        rc.data.load_csv(q)
    r = tmp_path / "text.csv"
    r.write_text("1,2\n3,x\n")
    with pytest.raises(ValueError, match=r"line 2, column 2: cannot read 'x'"):
        rc.data.load_csv(r, header=False)


# ------------------------------------------------------------------ Normalization layer
def test_normalization_layer_saves_with_the_model(rng, tmp_path):
    from rcmlrs.nn.layers.preprocessing import Normalization

    x = _data(rng, (64, 4))
    y = (x[:, 0] > 5).astype(np.int64)
    sc = StandardScaler().fit(x)
    layer = Normalization.from_scaler(sc)
    assert layer.count_params() == 0
    np.testing.assert_allclose(layer(x).numpy()[0], sc.transform(x), rtol=1e-5, atol=1e-5)
    adapted = Normalization().adapt(x)
    assert adapted.mean == layer.mean and adapted.scale == layer.scale
    m = rc.nn.Sequential([Normalization.from_scaler(sc), rc.nn.Dense(8, "relu"), rc.nn.Dense(2)])
    m.compile("adam", "cross_entropy")
    m.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)  # raw inputs: the layer scales
    p = tmp_path / "m.rcm"
    m.save(p)
    back = rc.nn.load_model(p)  # a built-in layer: no custom_objects needed
    assert np.array_equal(back.predict(x), m.predict(x))
    assert back.layers[0].mean == sc.mean_.tolist()  # the statistics travel exactly
    with pytest.raises(rc.ShapeError, match="fitted on 4 features"):
        layer(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="adapt"):
        Normalization()(x)
