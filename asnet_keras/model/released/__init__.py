"""The authors' released ASNet (docs/released_model.md): its graph, its layer, its converter.

The `released` configuration of `build_asnet` is this network; it belongs to the model
layer of the package. Importing this package registers the released network's custom
objects (`LearningPrior`, its initializer, and Keras 2's `hard_sigmoid` from
`asnet_keras.model.blocks`), so a converted `.keras` file then loads with plain
`keras.models.load_model`.

- `graph`: `build_released_graph`, the network layer for layer, and its weight table.
- `layers`: the learned Gaussian prior.
- `converter`: `ASNet.h5` (Keras 2) → our `.keras` / `.weights.h5`.

`main.py`'s pre- and post-processing (pure numpy) is `asnet_keras.inference.released_processing`.
"""

from asnet_keras.model.released.graph import (  # noqa: F401
    AUTO_NAMED,
    KERAS2_LOAD_ORDER,
    OUTPUT_NAMES,
    RELEASED_MEANS,
    WEIGHTED_LAYERS,
    build_released_graph,
    load_released,
)
from asnet_keras.model.released.layers import LearningPrior  # noqa: F401
