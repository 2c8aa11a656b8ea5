"""Every model configuration through the shared harness (tests/support/harness.py): the
`paper` graph and each Table 5 architecture, at 32 px."""

import pytest

from asnet_keras.model.options import ASNetOptions
from tests.support.harness import run_model_test

SIZE = 32
PAPER_SHAPES = {
    "fixation": (2, 2, 1),
    "saliency_conv5": (2, 2, 1),
    "saliency_conv4": (4, 4, 1),
    "saliency_conv3": (8, 8, 1),
    "saliency_conv2": (16, 16, 1),
    "saliency_conv1": (32, 32, 1),
}


@pytest.mark.parametrize(
    "changes, shapes",
    [
        ({}, PAPER_SHAPES),
        ({"recurrence": "stock"}, PAPER_SHAPES),
        pytest.param({"fixation_head": False},
                     {k: v for k, v in PAPER_SHAPES.items() if k != "fixation"},
                     marks=pytest.mark.backend_heavy),
        ({"use_convlstm": False}, PAPER_SHAPES),
        # Under every backend in tests/test_backends.py as well.
        pytest.param({"fixation_28": True}, {**PAPER_SHAPES, "fixation_conv4": (4, 4, 1)},
                     marks=pytest.mark.backend_heavy),
    ],
    ids=["paper", "stock", "wo_fixation", "wo_convlstm", "fixation_28"],
)
def test_model_configuration(changes, shapes, tmp_path):
    run_model_test(ASNetOptions(input_size=SIZE, **changes), tmp_path,
                   expected_output_shapes=shapes)


def test_options_refuse_impossible_values_with_the_fix():
    with pytest.raises(ValueError, match="multiple of 16"):
        ASNetOptions(input_size=40)
    with pytest.raises(ValueError, match="needs the fixation head"):
        ASNetOptions(fixation_head=False, fixation_28=True)
    with pytest.raises(ValueError, match="config.json: input_size='64': pass an integer"):
        ASNetOptions.from_json({"input_size": "64"})
    # Old config.json files without `recurrence` read as the default.
    assert ASNetOptions.from_json({"input_size": 64, "config": "paper"}).recurrence == "static"


def test_weight_counts_that_fit_no_asnet_name_the_flags():
    from asnet_keras.model.weight_structure import options_from_counts

    with pytest.raises(ValueError, match="--fixation-28, --no-fixation"):
        options_from_counts({"conv2d": 3, "conv_lstm2d": 2})
