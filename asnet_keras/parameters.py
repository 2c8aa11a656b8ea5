"""Checking one parameter value: the message shape every options object uses.

`ASNetOptions` (which ASNet) and `TrainConfig` (how to train it) check each value they
are given with these functions, so a bad value costs one `ParameterError` that names
the parameter, the value, the command-line flag where there is one, and what to pass:

    learning_rate=nan (--learning-rate): pass a finite number above 0 and at most 1.

Pure Python, no import of the package: every layer may use it.
"""

import math
import numbers


class ParameterError(ValueError):
    """A parameter value that cannot be used; the message says what to pass instead.

    Attributes:
        name: the parameter (a keyword argument or dataclass field).
        value: the value given.
        advice: what to pass instead (the text after the colon).
        flag: the command-line flag that set it, or None.
    """

    def __init__(self, name, value, advice, flag=None):
        self.name, self.value, self.advice, self.flag = name, value, advice, flag
        where = f" ({flag})" if flag else ""
        super().__init__(f"{name}={value!r}{where}: {advice}")

    def with_flag(self, flag):
        """The same error, naming the command-line flag that set the value."""
        return ParameterError(self.name, self.value, self.advice, flag)


def check_bool(name, value, flag=None):
    """`value` if it is True or False (not merely truthy)."""
    if not isinstance(value, bool):
        raise ParameterError(name, value, "pass True or False.", flag)
    return value


def check_choice(name, value, choices, flag=None):
    """`value` if it is one of the strings `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(name, value, f"pass one of {', '.join(choices)}.", flag)
    return value


def check_int(name, value, low, high, flag=None):
    """`value` as an int, if it is an integer (not a bool) from `low` to `high`."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not low <= value <= high):
        raise ParameterError(name, value, f"pass an integer from {low} to {high}.", flag)
    return int(value)


def check_number(name, value, low, high, *, above_low=False, flag=None):
    """`value` as a float, if it is a finite number from `low` (excluded when
    `above_low`) to `high`."""
    finite = (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and math.isfinite(value))
    if not finite or not (value > low if above_low else value >= low) or value > high:
        lower = f"above {low}" if above_low else f"from {low}"
        joint = " and at most " if above_low else " to "
        raise ParameterError(name, value, f"pass a finite number {lower}{joint}{high}.", flag)
    return float(value)
