"""The authors' released ASNet (docs: docs/released_model.md): graph, layers, processing, converter.

Importing this package registers the released network's custom objects (`LearningPrior`,
its initializer, Keras 2's `hard_sigmoid`), so a converted `.keras` file then loads with
plain `keras.models.load_model`.

- `graph`: `build_released_graph`, the network layer for layer, and its weight table.
- `layers`: the learned Gaussian prior.
- `processing`: main.py's pre- and post-processing (pure numpy).
- `converter`: `ASNet.h5` (Keras 2) → our `.keras` / `.weights.h5`.
"""

from asnet_keras.released.graph import (  # noqa: F401
    AUTO_NAMED,
    KERAS2_LOAD_ORDER,
    OUTPUT_NAMES,
    RELEASED_MEANS,
    WEIGHTED_LAYERS,
    build_released_graph,
    load_released,
)
from asnet_keras.released.layers import LearningPrior  # noqa: F401
from asnet_keras.released.processing import (  # noqa: F401
    INPUT_SIZE,
    bytescale,
    pillow_bilinear_resize,
    released_postprocess,
    released_preprocess,
)
