# Type stubs for rcmlrs._embed (private: the embedding kernels behind rc.embedding).
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from rcmlrs._tensor import RamTensor

MAX_INPUT_DIM: int

def _embed_rows(
    ids: RamTensor, input_dim: SupportsIndex, output_dim: SupportsIndex
) -> npt.NDArray[np.int64]: ...
def _embed_forward(
    table: RamTensor, rows: npt.NDArray[np.int64], T: SupportsIndex, B: SupportsIndex
) -> RamTensor: ...
def _embed_backward(
    g: RamTensor, rows: npt.NDArray[np.int64], input_dim: SupportsIndex
) -> RamTensor: ...
