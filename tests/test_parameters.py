"""The parameter checks every options object uses (asnet_keras/parameters.py)."""

import math

import pytest

from asnet_keras.parameters import ParameterError, check_number


def test_a_number_must_be_finite_even_without_an_upper_bound():
    assert check_number("scale", 3, 0, math.inf) == 3.0
    for value in (math.inf, math.nan):
        with pytest.raises(ParameterError, match=r"^scale=(inf|nan) \(--scale\): pass a "
                                                 r"finite number above 0 and at most inf\.$"):
            check_number("scale", value, 0, math.inf, above_low=True, flag="--scale")


def test_the_error_can_name_the_flag_that_set_the_value():
    error = ParameterError("input_size", 40, "pass a multiple of 16.")
    assert str(error) == "input_size=40: pass a multiple of 16."
    assert (str(error.with_flag("--input-size"))
            == "input_size=40 (--input-size): pass a multiple of 16.")
    assert isinstance(error, ValueError)
