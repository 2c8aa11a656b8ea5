"""Evaluation metrics of the ASNet reproduction (specification: docs/metrics.md).

Pure numpy/scipy/OpenCV (plus PySODMetrics for part B, imported on first use); no Keras
or TensorFlow, so evaluating saved maps does not pay their import.

Fixation prediction (docs/metrics.md §A), each taking 2-D maps (uint8 or float) and
returning a float (NaN where undefined):

- :func:`auc_judd` (§A.1), :func:`shuffled_auc` (§A.2), :func:`nss` (§A.3),
  :func:`cc` (§A.4), :func:`sim` (§A.5);
- :func:`matlab_imresize` (§A.0), the resize they apply to a prediction of another size;
- :func:`fixation_density` (§A.6) and :func:`other_fixations_map` (§A.2), which build
  their ground-truth inputs;
- :class:`FixationEvaluator`, the streaming dataset accumulator.

Salient-object detection (docs/metrics.md §B): :class:`SalientObjectEvaluator` (PR curve,
max/mean/adaptive F, maxF_PR, MAE, S, max/mean/adaptive E, weighted F) and
:func:`prepare_sod_inputs` (§B.0).
"""

from asnet_keras.metrics.common import to_uint8
from asnet_keras.metrics.fixation import (
    FixationEvaluator,
    auc_judd,
    cc,
    fixation_density,
    nss,
    other_fixations_map,
    shuffled_auc,
    sim,
)
from asnet_keras.metrics.imresize import matlab_imresize
from asnet_keras.metrics.salient_object import (
    SalientObjectEvaluator,
    f_measure,
    prepare_sod_inputs,
)

__all__ = [
    "auc_judd",
    "shuffled_auc",
    "nss",
    "cc",
    "sim",
    "matlab_imresize",
    "fixation_density",
    "other_fixations_map",
    "FixationEvaluator",
    "SalientObjectEvaluator",
    "prepare_sod_inputs",
    "f_measure",
    "to_uint8",
]
