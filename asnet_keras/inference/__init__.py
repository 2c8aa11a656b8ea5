"""Running a trained ASNet on images: shared by evaluation, prediction and the demo.

- `images`: reading any image file, resizing to the model input, upsampling maps back.
- `batches`: the model over images in batches.
- `loading`: `load_asnet` for a run folder, `.keras`, `.h5` or `.weights.h5`.
- `released_processing`: the authors' `main.py` pre- and post-processing (pure numpy).
- `prediction`: maps for image files, written at their size (`python -m asnet_keras.predict`).
"""
