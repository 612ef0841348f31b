"""Use the custom kernel next to rcmlrs's own ops (build it first, see setup.py)."""

from __future__ import annotations

from rcmlrs_softsign import softsign, softsign_

import rcmlrs as rc


def main() -> int:
    x = rc.tensor([[-3.0, -1.0, 0.0], [0.5, 2.0, 1e30]])
    y = softsign(x)  # a new tensor: x / (1 + |x|)
    expected = x / (abs(x) + 1.0)
    print(y)
    assert y.shape == x.shape
    assert y.allclose(expected.clip(-1.0, 1.0), rtol=1e-6)
    z = softsign_(x.copy())  # in place
    assert z.equals(y)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
