"""Reading QR codes from camera frames for the till page (SPEC §5, §10 ``/pos``).

A browser with ``BarcodeDetector`` reads codes itself; one without it (Firefox, Safari on
older phones, most desktop browsers) sends a frame of its camera, or a photo, here:
``POST /api/v1/pos/decode`` with the image's bytes as the body (``Content-Type:
image/png`` or ``image/jpeg``) answers ``{"codes": [...]}``, the texts of the QR codes it
shows (``[]`` when none). Nothing is stored and no bean moves.

Limits keep a frame cheap to read: at most :data:`MAX_FRAME_BYTES` bytes (the POS page
sends the middle of a frame, downscaled to at most 640 pixels, as a grey JPEG of a few
tens of KB) and :data:`MAX_FRAME_PIXELS` pixels, checked from the image's header before
it is decoded (a small PNG can unpack to a huge bitmap).
"""

from __future__ import annotations

import logging

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.errors import ApiProblem
from api.frames import IMAGE_TYPES, MAX_FRAME_BYTES, MAX_FRAME_PIXELS, frame_of_request
from api.idempotent import idempotent
from api.schemas import FILE
from api.security import requires
from merchant_pos.qr import decode_image

log = logging.getLogger(__name__)

# ("pos" is the page's own blueprint, merchant_pos/web.py)
blp = Blueprint(
    "point_of_sale",
    __name__,
    url_prefix="/api/v1",
    description="Helpers of the till page",
)


FRAME_BODY = {
    "required": True,
    "description": (
        f"the bytes of one PNG or JPEG image, at most {MAX_FRAME_BYTES} bytes and "
        f"{MAX_FRAME_PIXELS} pixels"
    ),
    "content": {media_type: {"schema": FILE} for media_type in IMAGE_TYPES},
}


class DecodedCodes(Schema):
    codes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the text of each QR code in the image; empty if none"},
    )


@blp.route("/pos/decode")
class Decode(MethodView):
    @idempotent
    @requires("merchant")
    @blp.doc(requestBody=FRAME_BODY)
    @blp.response(200, DecodedCodes)
    def post(self):
        """Read the QR codes in a camera frame or photo (for browsers without
        BarcodeDetector).

        The body is the image itself, ``Content-Type: image/png`` or ``image/jpeg``.
        Anything else, an empty body or bytes that are not such an image answer
        ``422 validation_error``; more than the size limits, ``413 payload_too_large``.
        """
        try:
            codes = decode_image(frame_of_request())
        except ValueError as error:  # a header that reads, over pixel data that does not
            raise ApiProblem(422, "validation_error", str(error)) from None
        return {"codes": codes}
