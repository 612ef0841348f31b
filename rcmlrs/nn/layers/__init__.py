"""rc.nn layers: the ``Layer`` protocol (base.py) and one file per layer family.

``LAYERS`` maps the class names that ``model.save`` writes to the built-in classes
``load_model`` may rebuild (user classes come through ``custom_objects``).
"""

from rcmlrs.nn.layers.base import Layer
from rcmlrs.nn.layers.conv import Conv1D, Conv2D
from rcmlrs.nn.layers.core import Dropout, Flatten
from rcmlrs.nn.layers.dense import Dense
from rcmlrs.nn.layers.embedding import Embedding
from rcmlrs.nn.layers.gru import GRU
from rcmlrs.nn.layers.normalization import BatchNormalization, LayerNormalization
from rcmlrs.nn.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    MaxPool2D,
    MaxPooling2D,
)
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
    "Conv1D": Conv1D,
    "Conv2D": Conv2D,
    "MaxPool2D": MaxPool2D,
    "AveragePooling2D": AveragePooling2D,
    "GlobalAveragePooling2D": GlobalAveragePooling2D,
}

__all__ = [
    "LAYERS",
    "Layer",
    "Dense",
    "RNN",
    "LSTM",
    "GRU",
    "Dropout",
    "Flatten",
    "Normalization",
    "Embedding",
    "BatchNormalization",
    "LayerNormalization",
    "Conv1D",
    "Conv2D",
    "MaxPool2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
]
