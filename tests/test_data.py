"""rc.data: CSV loading with clear errors, image folders, batching."""

import numpy as np
import pytest

import rcmlrs as rc


def test_load_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,target\n1,2,0\n\n3.5,-4,1\n")
    x, y = rc.data.load_csv(p)
    assert x.shape == (1, 2, 2) and y.shape == (1, 2, 1)
    np.testing.assert_array_equal(x.numpy()[0], [[1, 2], [3.5, -4]])
    np.testing.assert_array_equal(y.numpy()[0, :, 0], [0, 1])
    x2, y2 = rc.data.load_csv(p, target="a")
    np.testing.assert_array_equal(y2.numpy()[0, :, 0], [1, 3.5])
    x3, y3 = rc.data.load_csv(p, target=None)
    assert x3.shape == (1, 2, 3) and y3 is None
    q = tmp_path / "n.csv"
    q.write_text("1,2\n3,4\n")
    x4, _ = rc.data.load_csv(q, target=0, header=False)
    np.testing.assert_array_equal(x4.numpy()[0, :, 0], [2, 4])


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
    y = np.arange(10, dtype=np.float32)
    got = list(rc.data.batches(x, y, batch_size=4, shuffle=False))
    assert [b[0].shape for b in got] == [(1, 4, 2), (1, 4, 2), (1, 2, 2)]
    np.testing.assert_array_equal(got[2][1].numpy()[0, :, 0], [8, 9])
    a = [b[1].numpy().ravel().tolist() for b in rc.data.batches(x, y, 3, shuffle=True, seed=7)]
    b = [b[1].numpy().ravel().tolist() for b in rc.data.batches(x, y, 3, shuffle=True, seed=7)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))
    for xb, yb in rc.data.batches(x, y, 3, seed=1):  # rows stay paired
        np.testing.assert_array_equal(xb.numpy()[0, :, 0], 2 * yb.numpy()[0, :, 0])
    with pytest.raises(rc.ShapeError, match="10 samples but y has 9"):
        list(rc.data.batches(x, y[:9]))
    xtr, xte, ytr, yte = rc.data.train_test_split(x, y, 0.3, seed=0)
    assert len(xte) == 3 and len(xtr) == 7


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
    assert classes == ["black", "white"] and x.shape == (6, 6, 5)
    np.testing.assert_array_equal(y.numpy().ravel(), [0, 0, 0, 1, 1, 1])
    assert x.numpy()[:3].max() == 0 and x.numpy()[3:].min() == 1
    xc, _, _ = rc.data.load_images(tmp_path, 4, grayscale=False)
    assert xc.shape == (6, 4, 12)
