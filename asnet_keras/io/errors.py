"""Why an image file is refused: one exception per answer (docs/data_integrity.md §7).

Every class is a `ValueError` whose `str()` is the reason in words; the service maps
them to its status codes (415, 413, 422), the commands print them beside the file name.
"""


class ImageError(ValueError):
    """An image that cannot be used; `str(err)` is the reason."""


class UnsupportedImage(ImageError):
    """Not a format the header prober can size (JPEG, PNG, BMP, TIFF, WebP), or samples
    the readers cannot turn into 8 bits: refused before any decoder runs."""


class CorruptImage(ImageError):
    """A header that does not parse, a file that ends too early, or pixels the decoder
    refuses.

    Attributes:
        truncated: True when the cause is a file that ends too early.
        detail: the precise finding without the canonical prefix (e.g. "the PNG's IDAT
            chunk runs past the end of the file (byte 480)"), for callers that word
            their own message (`asnet_keras.data.file_checks`).
    """

    def __init__(self, message, truncated=False, detail=None):
        super().__init__(message)
        self.truncated = bool(truncated)
        self.detail = detail or message


class ImageTooLarge(ImageError):
    """More pixels, or more decoded bytes, than the caller's limit allows."""


class ImageReadError(ImageError):
    """An image file that cannot be read; the message names the file and the reason.

    `reason` is the underlying `ImageError` or `OSError` (None when there is none).
    """

    def __init__(self, message, reason=None):
        super().__init__(message)
        self.reason = reason
