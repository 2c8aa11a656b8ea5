"""What every command-line entry point does before its work starts."""

import os


def quiet_tensorflow():
    """Hide TensorFlow's C++ start-up chatter (CPU feature notes, absl warnings), which
    drowns our own messages on a terminal; a value the user set is kept."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
