"""Use the custom kernels next to rcmlrs's own ops (build them first, see setup.py)."""

from __future__ import annotations

import rcmlrs_softsign_cy
from rcmlrs_softsign import dense_softsign, softsign, softsign_

import rcmlrs as rc


def main() -> int:
    x = rc.tensor([[-3.0, -1.0, 0.0], [0.5, 2.0, 1e30]])
    y = softsign(x)  # a new tensor: x / (1 + |x|)
    print(y)
    assert y.shape == x.shape
    assert y.allclose((x / (abs(x) + 1.0)).clip(-1.0, 1.0), rtol=1e-6)
    z = softsign_(x.copy())  # in place
    assert z.equals(y)

    # a dense layer with a softsign activation: rcmlrs's GEMM and thread pool, called
    # from C (rcmlrs_softsign) and from Cython (rcmlrs_softsign_cy) through the C API
    a = rc.randn((4, 32, 64), seed=1)  # 4 layers of 32 x 64
    w = rc.randn((1, 64, 16), seed=2, std=0.1)
    b = rc.randn((1, 1, 16), seed=3)
    h = dense_softsign(a, w, b)
    v = a @ w + b  # the same product and bias through rcmlrs's own ops ...
    assert h.equals(v / (abs(v) + 1.0))  # ... so the same bits
    assert rcmlrs_softsign_cy.dense_softsign(a, w, b).equals(h)
    print("dense_softsign:", h.shape)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
