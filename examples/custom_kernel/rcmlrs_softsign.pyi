from typing import TypeVar

import rcmlrs as rc

_T = TypeVar("_T")

def softsign(x: rc.RamTensor) -> rc.RamTensor: ...
def softsign_(x: _T) -> _T: ...
