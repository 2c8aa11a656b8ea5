"""The ASNet network and its training objective (paper §3).

- `options`: `ASNetOptions`, the one description of which ASNet (written to config.json).
- `builder`: `build_asnet`, the functional Keras model of the `paper` configuration.
- `blocks`: the pieces it shares with the `released` configuration (VGG16, ConvLSTM stages).
- `losses`: Eqs. 1 and 7–13 and the Table 5 loss variants; `compile_asnet`.
- `variants`: the Table 5 ablation registry.
- `weight_structure`: which ASNet a weight file holds, read off its layers.
- `released/`: the authors' released network (`config="released"`), its prior layer and
  the converter of their `ASNet.h5`.
- `saving`: `save_model`, a `.keras` or legacy `.h5` file without Keras' legacy warning.

`options`, `variants` and `weight_structure` import no Keras; the names below are loaded
on first use, so `from asnet_keras.model.options import ASNetOptions` stays light.
"""

import importlib

_LAZY = {
    "build_asnet": "asnet_keras.model.builder",
    "FIXATION_28_OUTPUT": "asnet_keras.names",
    "ASNetOptions": "asnet_keras.model.options",
    "OUTPUT_NAMES": "asnet_keras.names",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'asnet_keras.model' has no attribute {name!r}")


__all__ = sorted(_LAZY)
