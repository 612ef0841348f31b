"""``python -m rcmlrs demo`` trains, saves, reloads and checks predictions."""

import os
import subprocess
import sys

import numpy as np

from rcmlrs import demo


def test_demo_run(capsys):
    assert demo.run(epochs_mlp=5, epochs_rnn=2, verbose=0) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "validation mse" in out
    assert "3) CNN Conv2D(8) - MaxPool2D" in out
    assert out.count("predictions identical") == 3
    assert "Epoch" not in out  # a summary, not a line per epoch


def test_demo_verbose_shows_progress(capsys):
    assert demo.run(epochs_mlp=2, epochs_rnn=1, verbose=1) == 0
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "[==============================]" in out


def test_demo_datasets():
    x, y = demo.two_spirals(50)
    assert x.shape == (100, 2) and x.dtype == np.float32 and set(y) == {0, 1}
    xs, ys = demo.sine_waves(8, steps=5)
    assert xs.shape == (8, 5, 1) and ys.shape == (8, 1)
    xi, yi = demo.stripe_images(30)
    assert xi.shape == (30, 8, 8, 1) and xi.dtype == np.float32 and set(yi) <= {0, 1, 2}


def test_demo_cnn_learns_without_sklearn(monkeypatch, capsys):
    """Without scikit-learn the CNN part trains on striped images, well above chance."""
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    x, _, what = demo.digit_images()
    assert what == "striped images" and x.shape == (1500, 8, 8, 1)
    assert demo.run(epochs_mlp=1, epochs_rnn=1, epochs_cnn=4) == 0
    line = capsys.readouterr().out.split("3) CNN")[1].splitlines()[1]
    assert float(line.split("test accuracy")[1]) > 0.8, line


def test_python_m_rcmlrs_demo():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run(
        [sys.executable, "-m", "rcmlrs", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) <= 15, r.stdout  # compact: a few lines per part
    assert "Epoch" not in r.stdout
    assert "test accuracy" in r.stdout and "ms/epoch" in r.stdout
    assert "predictions identical" in r.stdout and "DIFFER" not in r.stdout
    done = [ln for ln in lines if ln.startswith("done in")]
    assert done and float(done[0].split()[2]) < 10.0  # about a second on one core
