"""rc.nn layers: the ``Layer`` protocol (base.py) and one file per layer family.

``LAYERS`` maps the class names that ``model.save`` writes to the built-in classes
``load_model`` may rebuild (user classes come through ``custom_objects``).
"""

from rcmlrs.nn.layers.base import Layer
from rcmlrs.nn.layers.core import Dropout, Flatten
from rcmlrs.nn.layers.dense import Dense
from rcmlrs.nn.layers.embedding import Embedding
from rcmlrs.nn.layers.gru import GRU
from rcmlrs.nn.layers.normalization import BatchNormalization, LayerNormalization
from rcmlrs.nn.layers.preprocessing import Normalization
from rcmlrs.nn.layers.recurrent import LSTM, RNN

LAYERS: dict[str, type[Layer]] = {
    "Dense": Dense,
    "RNN": RNN,
    "LSTM": LSTM,
    "Dropout": Dropout,
    "Flatten": Flatten,
    "Normalization": Normalization,
    "Embedding": Embedding,
    "GRU": GRU,
    "BatchNormalization": BatchNormalization,
    "LayerNormalization": LayerNormalization,
}

__all__ = [
    "LAYERS",
    "LSTM",
    "RNN",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "Normalization",
    "Embedding",
    "GRU",
    "LayerNormalization",
]
