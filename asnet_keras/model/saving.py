"""Writing a whole Keras model file: `save_model(model, path)` for `.keras` and `.h5`.

The legacy HDF5 `.h5` file is written on purpose beside `.keras` (users have such files
and load them in older code), and Keras 3 logs a warning that HDF5 is legacy at every
such save: once per epoch in training. `save_model` drops that one message, and only
while it writes a `.h5` file (docs/framework_notes.md §4).
"""

import logging

LEGACY_SUFFIXES = (".h5", ".hdf5")
# The start of the message Keras logs (through absl's Python logger) before an HDF5 save.
_LEGACY_WARNING = "You are saving your model as an HDF5 file"


class _DropLegacyWarning(logging.Filter):
    """Drops Keras' "HDF5 is legacy" record; lets every other record through."""

    def filter(self, record):
        return not str(record.msg).startswith(_LEGACY_WARNING)


def save_model(model, path):
    """`model.save(path)`; for a `.h5` / `.hdf5` path without the "legacy format" warning."""
    if not str(path).endswith(LEGACY_SUFFIXES):
        model.save(path)
        return
    logger = logging.getLogger("absl")  # the logger Keras' saving_api warns through
    legacy = _DropLegacyWarning()
    logger.addFilter(legacy)
    try:
        model.save(path)
    finally:
        logger.removeFilter(legacy)
