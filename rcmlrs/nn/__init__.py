"""rc.nn: Keras-style networks on rcmlrs tensors.

``Sequential`` stacks layers (``Dense``, ``Conv1D``/``Conv2D``, pooling, ``BatchNormalization``/
``LayerNormalization``, ``Embedding``, ``RNN``/``LSTM``/``GRU``, ``Dropout``, ``Flatten``, or
your own ``Layer`` subclass, which may define only ``forward``); ``Model`` is the base to
subclass with your own ``call`` (residual connections, several inputs), trained through
``rc.autograd``; ``compile`` picks optimizer and loss (one of ``rc.losses``, or a function
of tensor ops); ``fit`` trains with mini-batches, a progress line and ``callbacks``
(rc.nn.callbacks: early stopping, checkpoints, learning-rate schedules, CSV logs); ``evaluate``,
``predict`` (NumPy out, samples first), ``summary``, ``save`` and ``load_model`` do the
rest; ``initializers``, ``regularizers`` and ``metrics`` hold the layer and compile
options. Every built-in layer has an explicit ``forward(x, training)`` /
``backward(grad)`` with ``params``/``grads`` so each step of the math can be read and
checked (the protocol: layers/base.py).
"""

from rcmlrs import losses
from rcmlrs.nn import activations, callbacks, initializers, metrics, regularizers
from rcmlrs.nn.layers import (
    GRU,
    LSTM,
    RNN,
    AveragePooling2D,
    AvgPool2D,
    BatchNormalization,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAveragePooling2D,
    Layer,
    LayerNormalization,
    MaxPool2D,
    MaxPooling2D,
    Normalization,
)
from rcmlrs.nn.model import Model, NonFiniteLossError, Sequential
from rcmlrs.nn.optimizers import SGD, Adam
from rcmlrs.nn.progress import History
from rcmlrs.nn.saving import load_model

__all__ = [
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Normalization",
    "History",
    "Layer",
    "LayerNormalization",
    "Model",
    "NonFiniteLossError",
    "Sequential",
    "activations",
    "callbacks",
    "initializers",
    "load_model",
    "losses",
    "metrics",
    "regularizers",
    "Embedding",
    "GRU",
    "MaxPool2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
]
