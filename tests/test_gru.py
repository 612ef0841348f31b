"""GRU (rc.gru, rc.nn.GRU): forward and every gradient against torch.nn.GRU with the same
weights, finite differences, layer == function == tape bit for bit, bitwise determinism
across thread counts and backends, training, save/load."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime, nn
from rcmlrs.autograd import gradcheck


def _rand(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _np(t):
    return np.array(t.numpy(), copy=True)


def _perm(m):
    """Gate blocks (z, r, h) <-> torch's (r, z, n) along the last axis (its own inverse)."""
    H = m.shape[-1] // 3
    return np.concatenate([m[..., H : 2 * H], m[..., :H], m[..., 2 * H :]], axis=-1)


def _weights(I, H, seed, scale=0.5):
    return (
        rc.tensor(_rand((1, I, 3 * H), seed, scale)),
        rc.tensor(_rand((1, H, 3 * H), seed + 1, scale)),
        rc.tensor(_rand((1, 2, 3 * H), seed + 2, scale)),
    )


def _torch_gru(torch, W, U, b):
    """torch.nn.GRU (float64) holding our weights."""
    I, H = W.shape[1], U.shape[1]
    ref = torch.nn.GRU(I, H).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.tensor(_perm(_np(W)[0]).T))
        ref.weight_hh_l0.copy_(torch.tensor(_perm(_np(U)[0]).T))
        ref.bias_ih_l0.copy_(torch.tensor(_perm(_np(b)[0, 0])))
        ref.bias_hh_l0.copy_(torch.tensor(_perm(_np(b)[0, 1])))
    return ref


@pytest.mark.parametrize("ret_seq", [True, False])
def test_forward_and_gradients_match_torch(ret_seq):
    torch = pytest.importorskip("torch")
    T, B, I, H = 7, 3, 5, 6
    W, U, b = _weights(I, H, 1)
    x = rc.tensor(_rand((T, B, I), 9))
    ref = _torch_gru(torch, W, U, b)
    xt = torch.tensor(_np(x).astype(np.float64), requires_grad=True)
    out_t, _ = ref(xt)
    out_t = out_t if ret_seq else out_t[-1:]
    r = _rand(tuple(out_t.shape), 10)
    (out_t * torch.tensor(r.astype(np.float64))).sum().backward()

    with rc.autograd.Tape() as tape:
        tape.watch(x, W, U, b)
        y = rc.gru(x, W, U, b, return_sequences=ret_seq)
        loss = (y * rc.tensor(r)).sum(axis=(0, 1, 2))
    dx, dW, dU, db = tape.gradient(loss, [x, W, U, b])
    assert y.shape == ((T, B, H) if ret_seq else (1, B, H))
    np.testing.assert_allclose(_np(y), out_t.detach().numpy(), rtol=1e-5, atol=2e-6)
    tol = dict(rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(_np(dx), xt.grad.numpy(), **tol)
    np.testing.assert_allclose(_np(dW)[0], _perm(ref.weight_ih_l0.grad.numpy().T), **tol)
    np.testing.assert_allclose(_np(dU)[0], _perm(ref.weight_hh_l0.grad.numpy().T), **tol)
    np.testing.assert_allclose(_np(db)[0, 0], _perm(ref.bias_ih_l0.grad.numpy()), **tol)
    np.testing.assert_allclose(_np(db)[0, 1], _perm(ref.bias_hh_l0.grad.numpy()), **tol)


def test_forward_matches_numpy_float64_one_step_at_a_time():
    """The equations written out in float64 (no torch needed)."""
    T, B, I, H = 4, 2, 3, 5
    W, U, b = _weights(I, H, 21)
    x = _rand((T, B, I), 22)
    Wn, Un, bn = (_np(t).astype(np.float64) for t in (W, U, b))
    h = np.zeros((B, H))
    want = []
    for t in range(T):
        gx = x[t] @ Wn[0] + bn[0, 0]
        gh = h @ Un[0] + bn[0, 1]
        z = 1 / (1 + np.exp(-(gx[:, :H] + gh[:, :H])))
        rr = 1 / (1 + np.exp(-(gx[:, H : 2 * H] + gh[:, H : 2 * H])))
        n = np.tanh(gx[:, 2 * H :] + rr * gh[:, 2 * H :])
        h = (1 - z) * n + z * h
        want.append(h)
    got = _np(rc.gru(rc.tensor(x), W, U, b))
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("ret_seq", [True, False])
def test_gradcheck(ret_seq):
    T, B, I, H = 3, 2, 3, 4
    W, U, b = _weights(I, H, 31)
    x = rc.tensor(_rand((T, B, I), 32))
    assert gradcheck(
        lambda x, W, U, b: rc.gru(x, W, U, b, return_sequences=ret_seq),
        [x, W, U, b],
        eps=1e-2,
        atol=2e-3,
        rtol=2e-2,
    )


def test_gradcheck_without_bias():
    W, U, _ = _weights(2, 3, 41)
    x = rc.tensor(_rand((3, 2, 2), 42))
    assert gradcheck(lambda x, W, U: rc.gru(x, W, U), [x, W, U], eps=1e-2, atol=2e-3, rtol=2e-2)
    # bias None is the zero bias
    z = rc.zeros((1, 2, 9))
    assert np.array_equal(_np(rc.gru(x, W, U)), _np(rc.gru(x, W, U, z)))


@pytest.mark.parametrize("ret_seq", [True, False])
def test_layer_equals_function_and_tape_bit_for_bit(ret_seq):
    T, B, I, H = 5, 4, 3, 6
    layer = nn.GRU(H, return_sequences=ret_seq)
    layer.build((T, I))
    W, U, b = layer.params
    assert W.shape == (1, I, 3 * H) and U.shape == (1, H, 3 * H) and b.shape == (1, 2, 3 * H)
    b.numpy()[...] = _rand(b.shape, 50, 0.3)  # a nonzero bias in both rows
    x = rc.tensor(_rand((T, B, I), 51))
    y = layer.forward(x, True)
    assert np.array_equal(_np(y), _np(rc.gru(x, W, U, b, return_sequences=ret_seq)))
    g = rc.tensor(_rand(y.shape, 52))
    dx = layer.backward(g)
    with rc.autograd.Tape() as tape:
        tape.watch(x, W, U, b)
        out = rc.gru(x, W, U, b, return_sequences=ret_seq)
    tg = tape.gradient(out, [x, W, U, b], output_gradient=g)
    for ours, theirs in zip([dx, *layer.grads], tg, strict=True):
        assert np.array_equal(_np(ours), _np(theirs))
    # the layer recorded on a tape (one fused op) gives the same bits again
    with rc.autograd.Tape() as tape:
        tape.watch(x, W, U, b)
        out = layer(x, True)
    lg = tape.gradient(out, [x, W, U, b], output_gradient=g)
    for ours, theirs in zip(lg, tg, strict=True):
        assert np.array_equal(_np(ours), _np(theirs))


def _run(T=6, B=40, I=24, H=40, seed=60):
    W, U, b = _weights(I, H, seed, 0.3)
    x = rc.tensor(_rand((T, B, I), seed + 5))
    with rc.autograd.Tape() as tape:
        tape.watch(x, W, U, b)
        y = rc.gru(x, W, U, b)
    g = rc.tensor(_rand(y.shape, seed + 6))
    return [_np(y)] + [_np(t) for t in tape.gradient(y, [x, W, U, b], output_gradient=g)]


def test_bitwise_across_thread_counts(threads):
    # B = 160 rows of H = 40: the cells of a step run as 4 chunks of rows over the pool
    outs = []
    for n in (1, 2, 3):
        rc.set_num_threads(n)
        outs.append(_run(B=160))
    for other in outs[1:]:
        for a, c in zip(outs[0], other, strict=True):
            assert np.array_equal(a, c)


def test_backends_against_serial():
    """Every backend runs the same gate math as the serial reference: identical bits when
    no product sums more than one term (T = B = I = 1: x W, dW and db are exact products
    or copies, dU is zero; H = 37 runs the vector loops and their tails), and agreement to
    float32 rounding otherwise (the per-ISA GEMM micro-kernels use fused multiply-adds)."""
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        want = _run()
        want1 = _run(T=1, B=1, I=1, H=37)
        for name in _runtime.capabilities():
            _runtime.set_backend(name)
            for a, c in zip(want, _run(), strict=True):
                assert np.max(np.abs(c - a)) <= 1e-5 * np.max(np.abs(a)), name
            y, _, dW, dU, db = _run(T=1, B=1, I=1, H=37)
            for a, c in zip([want1[0], *want1[2:]], [y, dW, dU, db], strict=True):
                assert np.array_equal(a, c), name
    finally:
        _runtime.set_backend(old)


def test_gru_model_trains_and_round_trips(tmp_path):
    """Sign of the sum of a sequence: a GRU classifier learns it; save/load keeps the
    predictions bit for bit."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)[:, None]
    model = nn.Sequential([nn.GRU(12), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer=rc.Adam(lr=0.02), loss="binary_cross_entropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=15, batch_size=32, seed=1, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert model.evaluate(x, y)["accuracy"] > 0.9
    assert [w.shape for w in model.layers[0].get_weights()] == [(1, 2, 36), (1, 12, 36), (1, 2, 36)]
    path = tmp_path / "gru.rcml"
    model.save(path)
    back = nn.load_model(path)
    assert isinstance(back.layers[0], nn.GRU)
    assert np.array_equal(back.predict(x), model.predict(x))
    # and training resumes identically
    model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    back.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert np.array_equal(back.predict(x), model.predict(x))


def test_sequences_layer_and_no_bias():
    layer = nn.GRU(4, return_sequences=True, use_bias=False)
    y = layer.forward(rc.tensor(_rand((5, 2, 3), 70)), True)
    assert y.shape == (5, 2, 4)
    assert [p.shape for p in layer.params] == [(1, 3, 12), (1, 4, 12)]
    dx = layer.backward(rc.ones(y.shape))
    assert dx.shape == (5, 2, 3) and len(layer.grads) == 2
    cfg = layer.get_config()
    assert cfg["use_bias"] is False and cfg["return_sequences"] is True
    assert repr(nn.GRU.from_config(cfg)) == repr(layer)


def test_bad_shapes():
    W, U, b = _weights(3, 4, 80)
    x = rc.tensor(_rand((2, 2, 3), 81))
    with pytest.raises(rc.ShapeError, match="GRU"):
        rc.gru(rc.tensor(_rand((2, 2, 5), 82)), W, U, b)
    with pytest.raises(rc.ShapeError, match="bias"):
        rc.gru(x, W, U, rc.zeros((1, 1, 12)))
    with pytest.raises(rc.ShapeError, match="bias"):
        rc.gru(x, W, U, rc.zeros((1, 1, 24)))  # the right size, not two rows
    with pytest.raises(rc.ShapeError):
        rc.gru(x, W, rc.zeros((1, 4, 8)), b)
    with pytest.raises(TypeError):
        rc.gru(_np(x), W, U, b)
    with pytest.raises(rc.ShapeError, match="0 time steps"):
        rc.gru(rc.zeros((0, 2, 3)), W, U, b, return_sequences=False)
    assert rc.gru(rc.zeros((0, 2, 3)), W, U, b).shape == (0, 2, 4)
    layer = nn.GRU(4)
    layer.forward(x)
    with pytest.raises(rc.ShapeError, match="features"):
        layer.forward(rc.tensor(_rand((2, 2, 5), 83)))


def test_backward_binding_checks_sizes():
    from rcmlrs import _layers as L

    W, U, b = _weights(3, 4, 90)
    x = rc.tensor(_rand((2, 2, 3), 91))
    G, Gh, hs = L._nn_gru_forward(x, W, U, b)
    z = rc.zeros
    good = [x, W, U, G, Gh, hs, z(hs.shape), z(W.shape), z(U.shape), z(b.shape)]
    assert L._nn_gru_backward(*good, True).shape == x.shape
    assert L._nn_gru_backward(*good, False) is None
    for i, bad in [
        (3, z((2, 2, 11))),  # gates
        (4, z((2, 2, 11))),  # recurrent products
        (5, z((2, 2, 5))),  # states
        (6, z((2, 2, 3))),  # state gradients
        (7, z((1, 3, 11))),  # dW
        (8, z((1, 4, 11))),  # dU
        (9, z((1, 1, 24))),  # db: one row of the right size
    ]:
        args = list(good)
        args[i] = bad
        with pytest.raises(rc.ShapeError, match="GRU.backward"):
            L._nn_gru_backward(*args, True)
