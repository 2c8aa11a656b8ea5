"""Running a trained ASNet on images: shared by evaluation, prediction, the service and the
demo.

- `images`: reading any image file, resizing to the model input, upsampling maps back.
- `maps`: the one prediction path, decoded images → maps at each image's size
  (`MapPipeline`, `predict_maps`), which `predict`, the service and evaluation run.
- `loading`: `load_asnet` for a run folder, `.keras`, `.h5` or `.weights.h5`.
- `released_processing`: the authors' `main.py` pre- and post-processing (pure numpy).
- `prediction`: maps for image files, written at their size (`asnet predict`).
- `cropping`: the crop of an aspect ratio that keeps the most saliency.
"""

# First, before anything loads cv2: OpenCV's own pixel limit is set as it loads
# (docs/data_integrity.md §7).
import asnet_keras.io.decoding  # noqa: F401
