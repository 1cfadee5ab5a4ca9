"""Unit tests for merchant_pos.qr: every kind of Goldbean code drawn as a QR image (SVG
and PNG) reads back as the same digits, and photos that are not images are refused.

The SVG is checked by drawing its path with Pillow (it is one square per dark module) and
reading that picture back with zxing-cpp, like a phone would read the screen.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from PIL import Image, ImageDraw

from ledger.codes import (
    Keyring,
    card_code,
    issue_payment_code,
    merchant_code,
    new_account_number,
    new_card_number,
    new_checkin_code,
)
from merchant_pos.qr import decode_image, qr_matrix, qr_png, qr_svg

SVG = "{http://www.w3.org/2000/svg}"
SQUARE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z")
PIXELS_PER_MODULE = 8


def every_kind_of_code() -> dict[str, str]:
    """One fresh code of each kind, as the ledger makes them."""
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    return {
        "payment": issue_payment_code(Keyring.generate(), new_account_number(), now).code,
        "card": card_code(new_card_number()),
        "merchant": merchant_code(new_account_number()),
        "checkin": new_checkin_code(),
    }


CODES = every_kind_of_code()


def svg_as_png(svg: str) -> bytes:
    """Draw the SVG's module squares black on white, as a PNG."""
    root = ET.fromstring(svg)
    _, _, width, height = (int(n) for n in root.get("viewBox").split())
    picture = Image.new("L", (width * PIXELS_PER_MODULE, height * PIXELS_PER_MODULE), 255)
    pen = ImageDraw.Draw(picture)
    (path,) = root.iter(f"{SVG}path")
    squares = SQUARE.findall(path.get("d"))
    assert squares, "the path draws no module squares"
    for x0, y0, x1, y1 in squares:
        box = [int(v) * PIXELS_PER_MODULE for v in (x0, y0, x1, y1)]
        pen.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def as_jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


# --- PNG -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CODES)
def test_each_kind_of_code_as_a_png_reads_back_as_its_digits(kind):
    code = CODES[kind]
    png = qr_png(code)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_image(png) == [code]


def test_a_png_has_box_size_pixels_per_module_and_a_quiet_zone():
    code = CODES["merchant"]
    modules = len(qr_matrix(code))  # 21 modules + 4 on each side
    assert modules == 29
    for box_size in (1, 3, 10):
        image = Image.open(io.BytesIO(qr_png(code, box_size=box_size)))
        assert image.size == (modules * box_size, modules * box_size)
        assert image.convert("L").getpixel((0, 0)) == 255  # white corner: the quiet zone
    assert decode_image(qr_png(code, box_size=3)) == [code]


@pytest.mark.parametrize("box_size", [0, -1, 101, 2.5, "10"])
def test_a_box_size_outside_1_to_100_pixels_is_refused(box_size):
    with pytest.raises(ValueError, match="box_size"):
        qr_png(CODES["card"], box_size=box_size)


def test_a_jpeg_photo_of_a_code_reads_back_too():
    code = CODES["payment"]
    assert decode_image(as_jpeg(qr_png(code, box_size=4))) == [code]


def test_a_picture_with_two_codes_reads_back_both():
    left, right = (Image.open(io.BytesIO(qr_png(CODES[k], 6))) for k in ("card", "checkin"))
    both = Image.new("L", (left.width + right.width, max(left.height, right.height)), 255)
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    buffer = io.BytesIO()
    both.save(buffer, format="PNG")
    assert sorted(decode_image(buffer.getvalue())) == sorted([CODES["card"], CODES["checkin"]])


def test_a_picture_without_a_code_reads_as_none():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(buffer, format="PNG")
    assert decode_image(buffer.getvalue()) == []


# --- SVG -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CODES)
def test_each_kind_of_code_as_an_svg_reads_back_as_its_digits(kind):
    code = CODES[kind]
    svg = qr_svg(code)
    assert decode_image(svg_as_png(svg)) == [code]


@pytest.mark.parametrize("kind", CODES)
def test_the_svg_is_inline_scalable_and_titled_with_the_digits(kind):
    code = CODES[kind]
    svg = qr_svg(code)
    assert svg.startswith("<svg") and not svg.startswith("<?xml")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == code
    assert "width" not in root.attrib and "height" not in root.attrib
    modules = len(qr_matrix(code))
    assert root.get("viewBox") == f"0 0 {modules} {modules}"
    assert root.find(f"{SVG}rect").get("fill") == "#ffffff"  # readable on a dark page
    assert [path.get("id") for path in root.iter(f"{SVG}path")] == [None]


def test_two_svgs_on_one_page_share_no_element_id():
    page = qr_svg(CODES["card"]) + qr_svg(CODES["card"])
    assert 'id="' not in page


@pytest.mark.parametrize("make", [qr_svg, qr_png, qr_matrix])
def test_there_is_no_qr_code_of_nothing(make):
    with pytest.raises(ValueError, match="needs some text"):
        make("")


# --- what is not an image --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is not an image", b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10],
    ids=["empty", "text", "pdf", "png-signature-only"],
)
def test_bytes_that_are_not_an_image_are_refused_clearly(data):
    with pytest.raises(ValueError, match="not an image"):
        decode_image(data)


def test_a_cut_off_image_is_refused_as_damaged():
    with pytest.raises(ValueError, match="damaged"):
        decode_image(qr_png(CODES["merchant"])[:120])


def test_only_bytes_are_decoded():
    with pytest.raises(ValueError, match="bytes of an image"):
        decode_image("not bytes")  # type: ignore[arg-type]
