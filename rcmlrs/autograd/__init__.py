"""Automatic differentiation: a tape you can read, over the fused kernels.

>>> import rcmlrs as rc
>>> w = rc.randn((1, 3, 2), seed=0)
>>> x = rc.randn((1, 4, 3), seed=1)
>>> with rc.autograd.Tape() as tape:
...     tape.watch(w)
...     loss = (x @ w).tanh().mean(axis=(0, 1, 2))
>>> (dw,) = tape.gradient(loss, [w])
>>> print(tape.listing())        # the recorded forward and backward program

Every differentiable RamTensor op run inside ``with Tape()`` on a watched tensor (or on
a tensor computed from one) appends one entry; ``gradient`` walks them backwards with one
rule per op (``rcmlrs.autograd.rules`` and the ``rules_*`` modules), each calling the same
fused kernels as the forward pass. See docs/AUTOGRAD.md.
"""

from rcmlrs.autograd import rules as _rules  # noqa: F401  (registers the rules)
from rcmlrs.autograd import rules_conv as _rules_conv  # noqa: F401  (convolutions)
from rcmlrs.autograd import rules_norm as _rules_norm  # noqa: F401  (batch/layer norm)
from rcmlrs.autograd import rules_ops2 as _rules_ops2  # noqa: F401  (issue 14's ops)
from rcmlrs.autograd import rules_pool as _rules_pool  # noqa: F401  (2-D pooling)
from rcmlrs.autograd import rules_seq as _rules_seq  # noqa: F401  (embedding, gru)
from rcmlrs.autograd import rules_shape as _rules_shape  # noqa: F401  (indexing, shape ops)
from rcmlrs.autograd.gradcheck import GradcheckError, gradcheck
from rcmlrs.autograd.registry import register, unbroadcast
from rcmlrs.autograd.tape import Tape, pause, record

__all__ = ["GradcheckError", "Tape", "gradcheck", "pause", "record", "register", "unbroadcast"]
