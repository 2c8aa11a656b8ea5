"""Raw dataset archives -> the canonical prepared layout (docs/datasets.md §10).

``data_prep`` is the first stage of the pipeline and the only code that knows how the
authors distribute SALICON, THUS10K (MSRA10K), DUT-OMRON, PASCAL-S, MIT1003, ECSSD,
HKU-IS and DUTS. Everything downstream reads only the prepared tree::

    <root>/<dataset>/meta.json
    <root>/<dataset>/<split>/list.txt, images/<id>.jpg, masks/<id>.png,
                            fixpts/<id>.png, fixmaps/<id>.png, fixations.npz

Entry point: ``asnet prepare --help``. The package uses numpy, scipy, h5py,
OpenCV, tqdm and (for ``.rar`` archives only) libarchive-c, the ``data`` extra; it never
imports keras or tensorflow. Of ``asnet_keras`` it imports only the light bottom layer:
the file and folder names of the layout from ``asnet_keras.names``, which the reader
(``asnet_keras.data.layout``) uses too, ``asnet_keras.io`` (image headers, decoding
under pixel limits, atomic writes: docs/data_integrity.md §5, §7), ``asnet_keras.extras``
(which extra a missing package belongs to) and the package version; none loads
TensorFlow or Keras (tested).
"""

# First, before anything loads cv2: OpenCV's own pixel limit is set as it loads
# (docs/data_integrity.md §7).
import asnet_keras.io.decoding  # noqa: F401

from asnet_keras import __version__  # one version for the distribution (pyproject.toml)

#: Version of the prepared layout written into every ``meta.json``.
LAYOUT_VERSION = 1
