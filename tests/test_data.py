"""rc.data: CSV loading with clear errors, image folders, batching."""

import numpy as np
import pytest

import rcmlrs as rc


def test_load_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,target\n1,2,0\n\n3.5,-4,1\n")
    x, y = rc.data.load_csv(p)
    assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
    assert x.shape == (2, 2) and y.shape == (2,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(x, [[1, 2], [3.5, -4]])
    np.testing.assert_array_equal(y, [0, 1])
    x2, y2 = rc.data.load_csv(p, target="a")
    np.testing.assert_array_equal(y2, [1, 3.5])
    np.testing.assert_array_equal(x2, [[2, 0], [-4, 1]])
    x3, y3 = rc.data.load_csv(p, target=None)
    assert x3.shape == (2, 3) and y3 is None
    q = tmp_path / "n.csv"
    q.write_text("1,2\n3,4\n")
    x4, _ = rc.data.load_csv(q, target=0, header=False)
    np.testing.assert_array_equal(x4[:, 0], [2, 4])


def test_load_csv_names(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,target\n1,2,0\n3,4,1\n")
    x, y, names = rc.data.load_csv(p, target="b", return_names=True)
    assert names == ["a", "target"] and x.shape == (2, 2) and y.tolist() == [2, 4]
    _, none, all_names = rc.data.load_csv(p, target=None, return_names=True)
    assert none is None and all_names == ["a", "b", "target"]
    q = tmp_path / "n.csv"
    q.write_text("1,2\n3,4\n")
    assert rc.data.load_csv(q, header=False, return_names=True)[2] is None


def test_load_csv_feeds_a_model_directly(tmp_path):
    """load_csv's (n, f) and (n,) are exactly what fit takes; the (1, n, f) tensor form of
    the same data means the same n samples."""
    r = np.random.default_rng(0)
    data = r.normal(size=(60, 4)).astype(np.float32)
    p = tmp_path / "reg.csv"
    np.savetxt(p, data, delimiter=",", header="a,b,c,y", comments="")
    x, y = rc.data.load_csv(p)
    m = rc.nn.Sequential([rc.nn.Dense(4, "tanh"), rc.nn.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    p1 = m.predict(x)
    assert p1.shape == (60, 1)
    assert np.array_equal(m.predict(rc.tensor(x)), p1)  # (1, 60, 3) tensor: 60 samples
    assert np.array_equal(m.predict(x[None]), p1)  # the same shape as an array
    assert m.evaluate(rc.tensor(x), rc.tensor(y)) == m.evaluate(x, y)


def test_load_csv_errors(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(ValueError, match="line 3: expected 3 columns, found 2"):
        rc.data.load_csv(p)
    q = tmp_path / "text.csv"
    q.write_text("a,b,c\n1,2,3\n4,five,6\n")
    with pytest.raises(ValueError, match=r"line 3, column 2 \('b'\): cannot read 'five'"):
        rc.data.load_csv(q)
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no column named 'zzz'"):
        rc.data.load_csv(ok, target="zzz")
    with pytest.raises(ValueError, match="out of range"):
        rc.data.load_csv(ok, target=5)
    e = tmp_path / "empty.csv"
    e.write_text("a,b\n")
    with pytest.raises(ValueError, match="no data rows"):
        rc.data.load_csv(e)
    with pytest.raises(FileNotFoundError):
        rc.data.load_csv(tmp_path / "missing.csv")


def test_batches():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    got = list(rc.data.batches(x, y, batch_size=4, shuffle=False))
    assert [b[0].shape for b in got] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(b[0], np.ndarray) and b[1].dtype == y.dtype for b in got)
    np.testing.assert_array_equal(got[2][1], [8, 9])
    a = [b[1].tolist() for b in rc.data.batches(x, y, 3, shuffle=True, seed=7)]
    b = [b[1].tolist() for b in rc.data.batches(x, y, 3, shuffle=True, seed=7)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))
    for xb, yb in rc.data.batches(x, y, 3, seed=1):  # rows stay paired
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
    with pytest.raises(rc.ShapeError, match="10 samples but y has 9"):
        list(rc.data.batches(x, y[:9]))
    with pytest.raises(ValueError, match="batch_size"):
        list(rc.data.batches(x, y, 0))
    # RamTensors in the library's layouts: (1, n, f) is n samples, (1, 1, n) n labels
    tb = list(rc.data.batches(rc.tensor(x), rc.tensor(y.astype(np.float32)), 4, shuffle=False))
    assert tb[0][0].shape == (4, 2) and tb[0][1].tolist() == [0, 1, 2, 3]
    seqs = np.zeros((10, 5, 3), np.float32)
    assert next(rc.data.batches(seqs, None, 4))[0].shape == (4, 5, 3)
    xtr, xte, ytr, yte = rc.data.train_test_split(x, y, 0.3, seed=0)
    assert len(xte) == 3 and len(xtr) == 7 and ytr.shape == (7,) and ytr.dtype == y.dtype
    np.testing.assert_array_equal(xtr[:, 0], 2 * ytr)
    imgs = np.zeros((10, 4, 4, 1), np.float32)
    assert rc.data.train_test_split(imgs, y, 0.5, seed=0)[0].shape == (5, 4, 4, 1)


def test_load_images_without_pillow(tmp_path, monkeypatch):
    (tmp_path / "cls").mkdir()
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"rcmlrs\[images\]"):
        rc.data.load_images(tmp_path, 8)


def test_load_images(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for name, v in (("black", 0), ("white", 255)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("L", (10, 12), v).save(tmp_path / name / f"{i}.png")
    x, y, classes = rc.data.load_images(tmp_path, (6, 5))
    assert classes == ["black", "white"] and x.shape == (6, 6, 5, 1) and x.dtype == np.float32
    assert y.shape == (6,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])
    assert x[:3].max() == 0 and x[3:].min() == 1
    xc, _, _ = rc.data.load_images(tmp_path, 4, grayscale=False)
    assert xc.shape == (6, 4, 4, 3)


def test_load_images_colour_channels_and_training(tmp_path):
    """Colour images come back (n, H, W, 3), channels last, pixel (i, j) intact; behind a
    Flatten they train as they are."""
    Image = pytest.importorskip("PIL.Image")
    colours = {"red": (255, 0, 0), "blue": (0, 0, 255)}
    for name, c in colours.items():
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.new("RGB", (5, 3), c).save(tmp_path / name / f"{i}.png")
    x, y, classes = rc.data.load_images(tmp_path, (3, 5), grayscale=False)
    assert x.shape == (8, 3, 5, 3) and classes == ["blue", "red"]
    np.testing.assert_array_equal(x[0, 2, 4], [0, 0, 1])  # blue
    np.testing.assert_array_equal(x[4, 0, 0], [1, 0, 0])  # red
    m = rc.nn.Sequential([rc.nn.Flatten(), rc.nn.Dense(2)])
    m.compile(rc.Adam(lr=0.05), "cross_entropy", metrics=["accuracy"])
    m.fit(x, y, epochs=20, batch_size=4, seed=0, verbose=0)
    assert m.evaluate(x, y)["accuracy"] == 1.0
    assert np.array_equal(np.argmax(m.predict(x), axis=1), y)
