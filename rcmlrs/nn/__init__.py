"""rc.nn: Keras-style networks on rcmlrs tensors.

``Sequential`` stacks layers (``Dense``, ``RNN``, ``LSTM``, ``Dropout``, ``Flatten``);
``compile`` picks optimizer and loss; ``fit`` trains with mini-batches and a progress
line; ``evaluate``, ``predict``, ``summary``, ``save`` and ``load_model`` do the rest.
Every layer has an explicit ``forward(x, training)`` / ``backward(grad)`` with
``params``/``grads`` so each step of the math can be read and checked.
"""

from rcmlrs.nn import activations
from rcmlrs.nn.layers import LSTM, RNN, Dense, Dropout, Flatten, Layer
from rcmlrs.nn.losses import Loss
from rcmlrs.nn.model import History, NonFiniteLossError, Sequential, load_model
from rcmlrs.nn.optimizers import SGD, Adam

__all__ = [
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "Dense",
    "Dropout",
    "Flatten",
    "History",
    "Layer",
    "Loss",
    "NonFiniteLossError",
    "Sequential",
    "activations",
    "load_model",
]
