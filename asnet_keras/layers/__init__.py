"""Custom layers of asnet_keras (each registered under the package name "asnet_keras")."""

from asnet_keras.layers.static_convlstm import StaticConvLSTM2D
from asnet_keras.layers.transfer import copy_weights_by_name

__all__ = ["StaticConvLSTM2D", "copy_weights_by_name"]
