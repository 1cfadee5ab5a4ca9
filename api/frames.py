"""Camera frames sent to be decoded (the POS page's and the volunteer's scan page's
fallback when the browser has no BarcodeDetector): media types and limits. Bottom floor."""

from __future__ import annotations

import io
import logging

from flask import request
from PIL import Image, UnidentifiedImageError

from api.errors import ApiProblem

log = logging.getLogger(__name__)


MAX_FRAME_BYTES = 48 * 1024  # well under the app's 64 KiB body limit (api/app.py)


MAX_FRAME_PIXELS = 2_000_000  # e.g. 1600 x 1200; a downscaled frame is 640 x 480


IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}


def frame_of_request() -> bytes:
    """The request's image bytes, checked against the media types and the limits."""
    media_type = request.mimetype
    if media_type not in IMAGE_TYPES:
        raise ApiProblem(
            422,
            "validation_error",
            f"send the image itself as image/png or image/jpeg, not {media_type or 'nothing'}",
        )
    data = request.get_data(cache=True)
    if not data:
        raise ApiProblem(422, "validation_error", "the body is empty: send an image")
    if len(data) > MAX_FRAME_BYTES:
        raise ApiProblem(
            413, "payload_too_large", f"an image may be at most {MAX_FRAME_BYTES} bytes"
        )
    check_image_header(data)
    return data


def check_image_header(data: bytes) -> None:
    """422 unless ``data`` starts like a PNG or JPEG image; 413 if it has too many pixels.
    Only the header is read here; :func:`decode_image` reads the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        log.info("a frame to decode is not an image: %s", error)
        raise ApiProblem(422, "validation_error", "the body is not a PNG or JPEG image") from None
    if kind not in IMAGE_TYPES.values():
        raise ApiProblem(422, "validation_error", f"a {kind} image: send PNG or JPEG")
    if width * height > MAX_FRAME_PIXELS:
        raise ApiProblem(
            413,
            "payload_too_large",
            f"an image of {width} x {height} pixels: at most {MAX_FRAME_PIXELS} pixels",
        )
