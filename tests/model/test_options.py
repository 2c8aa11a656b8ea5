"""`ASNetOptions` is the one validator of a model description (asnet_keras/model/options.py):
every impossible value is refused when the options are made, with a message that names
the field, the value and what to pass; `build_asnet` refuses the same values through the
same functions, before any layer is built."""

import pytest

from asnet_keras.model.options import ASNetOptions, check_input_shape
from asnet_keras.parameters import ParameterError

# (changes to the default options, field named, what the advice says)
BAD_OPTIONS = [
    ({"input_size": 50}, "input_size", "multiple of 16, at least 32 (four 2×2 poolings, VGG16's "
     "minimum); try 48 (the paper: 224)"),  # 16·round(50/16) = 48
    ({"input_size": 16}, "input_size", "try 32"),
    ({"input_size": 0}, "input_size", "try 32"),
    ({"input_size": -224}, "input_size", "try 32"),
    ({"input_size": "64"}, "input_size", "pass an integer number of pixels"),
    ({"input_size": 64.0}, "input_size", "pass an integer number of pixels"),
    ({"input_size": True}, "input_size", "pass an integer number of pixels"),
    ({"input_size": None}, "input_size", "pass an integer number of pixels"),
    ({"config": "journal"}, "config", "pass one of paper, released."),
    ({"config": None}, "config", "pass one of paper, released."),
    ({"recurrence": "fast"}, "recurrence", "pass one of static, stock."),
    ({"recurrence": ""}, "recurrence", "pass one of static, stock."),
    ({"fixation_head": "no"}, "fixation_head", "pass True or False."),
    ({"use_convlstm": 1}, "use_convlstm", "pass True or False."),
    ({"fixation_28": None}, "fixation_28", "pass True or False."),
    ({"fixation_head": False, "fixation_28": True}, "fixation_28",
     "the ASNet-28×28 output needs the fixation head"),
    ({"config": "released", "use_convlstm": False}, "config", "the authors' released network"),
    ({"config": "released", "fixation_28": True}, "config", "pass config='paper'"),
    ({"config": "released", "fixation_head": False}, "config", "pass config='paper'"),
]


def test_the_table_of_bad_options_is_complete():
    assert len(BAD_OPTIONS) == 19
    assert {field for _, field, _ in BAD_OPTIONS} == set(ASNetOptions.keys())


@pytest.mark.parametrize("changes, field, advice", BAD_OPTIONS)
def test_options_refuse_each_bad_value_naming_the_field(changes, field, advice):
    with pytest.raises(ParameterError) as caught:
        ASNetOptions(**changes)
    error = caught.value
    assert error.name == field
    assert str(error).startswith(f"{field}={changes[field]!r}: ")
    assert advice in str(error)


# config.json: a null or empty key takes its default, and 64.0 reads as 64 (tested below).
JSON_CASES = [(changes, field, advice) for changes, field, advice in BAD_OPTIONS
              if not any(v is None or v == "" or isinstance(v, float) for v in changes.values())]
assert len(BAD_OPTIONS) == 19 and len(JSON_CASES) == 14


@pytest.mark.parametrize("changes, field, advice", JSON_CASES)
def test_config_json_values_are_checked_by_the_same_validator(changes, field, advice):
    with pytest.raises(ValueError, match=r"^run/config\.json: " + field) as caught:
        ASNetOptions.from_json(changes, source="run/config.json")
    assert advice in str(caught.value)


def test_good_values_pass_and_config_json_reads_integral_floats():
    assert ASNetOptions(input_size=32).input_size == 32
    assert ASNetOptions.from_json({"input_size": 64.0}) == ASNetOptions(input_size=64)
    assert ASNetOptions.from_json({"recurrence": None, "config": ""}) == ASNetOptions()
    assert ASNetOptions(config="released", recurrence="stock").recurrence == "stock"


@pytest.mark.parametrize("shape, advice", [
    ((40, 40, 3), "height and width: 40 px does not fit; pass a multiple of 16"),
    ((224, 210, 3), "210 px does not fit; pass a multiple of 16, at least 32 "
                    "(four 2×2 poolings, VGG16's minimum); try 208"),  # 16·round(210/16)
    ((16, 16, 3), "try 32"),
    ((64, 64, 1), "pass 3 channels"),
    ((64, 64), "pass (height, width, 3)"),
    (None, "pass (height, width, 3)"),
])
def test_the_builder_shape_check_names_the_side_and_the_fix(shape, advice):
    with pytest.raises(ParameterError) as caught:
        check_input_shape(shape)
    assert str(caught.value).startswith(f"input_shape={shape!r}: ")
    assert advice in str(caught.value)
    assert check_input_shape([64, 96.0, 3]) == (64, 96, 3)


def test_the_builder_refuses_what_the_options_refuse_before_building():
    from asnet_keras.model.builder import build_asnet

    for kwargs, field in (({"config": "released", "fixation_28": True}, "config"),
                          ({"fixation_head": False, "fixation_28": True}, "fixation_28"),
                          ({"recurrence": "fast"}, "recurrence"),
                          ({"use_convlstm": "no"}, "use_convlstm")):
        with pytest.raises(ParameterError) as caught:
            build_asnet((32, 32, 3), backbone_weights=None, **kwargs)
        assert caught.value.name == field
