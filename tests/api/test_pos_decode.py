"""``POST /api/v1/pos/decode``: the POS page's camera frames and photos, read by the server
for browsers without BarcodeDetector. The body is the image itself."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from api.frames import MAX_FRAME_BYTES
from merchant_pos.qr import qr_png
from tests.api.helpers import status_and_code

DECODE = "/api/v1/pos/decode"


@pytest.fixture
def shop(community):
    return community.merchant("Corner Grocery")


@pytest.fixture
def till(sign_in, shop):
    return sign_in("merchant", merchant_id=shop)


@pytest.fixture
def code(community):
    li = community.volunteer("Li Wei")
    return community.payment_code(li)


def post_image(client, data: bytes, content_type: str = "image/png"):
    return client.post(DECODE, data=data, content_type=content_type)


def as_jpeg(png: bytes, size: tuple[int, int] | None = None) -> bytes:
    """The PNG as a grey JPEG (as the page sends a frame), optionally resized."""
    image = Image.open(io.BytesIO(png)).convert("L")
    if size:
        image = image.resize(size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def blank_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_a_qr_png_of_a_payment_code_reads_back_as_the_code(till, code):
    answer = post_image(till, qr_png(code))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"codes": [code]}


def test_a_downscaled_jpeg_frame_reads_back_too(till, code):
    frame = as_jpeg(qr_png(code), size=(320, 320))
    assert len(frame) < MAX_FRAME_BYTES
    answer = post_image(till, frame, "image/jpeg")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"codes": [code]}


def test_a_picture_without_a_code_reads_as_no_codes(till):
    answer = post_image(till, blank_png(200, 100))
    assert answer.status_code == 200
    assert answer.get_json() == {"codes": []}


def test_only_a_merchant_may_decode(community, anonymous, sign_in, code):
    image = qr_png(code)
    assert status_and_code(post_image(anonymous, image)) == (401, "unauthenticated")
    volunteer = sign_in("volunteer", account_id=community.volunteer("Zhao Min"))
    for caller in (volunteer, sign_in("coordinator"), sign_in("admin")):
        assert status_and_code(post_image(caller, image)) == (403, "forbidden")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"these are not the pixels you are looking for", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),  # a PNG's signature, then junk
        (b"", "image/jpeg"),
        (b'{"image": "a QR code"}', "application/json"),
        (b"GIF89a", "text/plain"),
    ],
    ids=["text-as-png", "broken-png", "empty", "json", "text"],
)
def test_a_body_that_is_not_a_png_or_jpeg_image_is_a_validation_error(till, data, content_type):
    assert status_and_code(post_image(till, data, content_type)) == (422, "validation_error")


def test_an_image_of_another_format_is_a_validation_error(till):
    buffer = io.BytesIO()
    Image.new("L", (20, 20), 255).save(buffer, format="GIF")
    answer = post_image(till, buffer.getvalue(), "image/png")
    assert status_and_code(answer) == (422, "validation_error")


def test_images_over_the_size_limits_are_refused(till):
    noisy = Image.frombytes("L", (230, 230), random.Random(1).randbytes(230 * 230))
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    too_many_bytes = buffer.getvalue()
    assert MAX_FRAME_BYTES < len(too_many_bytes) < 64 * 1024
    assert status_and_code(post_image(till, too_many_bytes)) == (413, "payload_too_large")

    too_many_pixels = blank_png(4000, 1000)  # a small file of a huge bitmap
    assert len(too_many_pixels) < MAX_FRAME_BYTES
    answer = post_image(till, too_many_pixels)
    assert status_and_code(answer) == (413, "payload_too_large")
    assert "pixels" in answer.get_json()["detail"]


def test_the_decode_endpoint_is_documented_with_an_image_body(anonymous):
    document = anonymous.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][DECODE]["post"]
    assert set(operation["requestBody"]["content"]) == {"image/png", "image/jpeg"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]
