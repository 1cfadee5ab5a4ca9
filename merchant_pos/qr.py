"""QR images of Goldbean's codes, and reading codes back from photos (SPEC §5, §10).

Every code is a string of digits (ledger/codes.py), encoded as it is, with error
correction M (15 %) and the standard quiet zone of 4 modules. The SVG is one ``<path>``
(qrcode's path image factory) on a white square, sized by its ``viewBox`` only, so it
scales to whatever box a page gives it and stays scannable on a dark page; its
``<title>`` carries the digits for screen readers and for anyone who cannot scan.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import qrcode
import zxingcpp
from PIL import Image, UnidentifiedImageError
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 asks


def _qr(text: str) -> qrcode.QRCode:
    if not isinstance(text, str) or not text:
        raise ValueError("a QR code needs some text")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of ``text``'s QR symbol, row by row (True is dark), quiet zone included."""
    return _qr(text).get_matrix()


def qr_svg(text: str) -> str:
    """``text`` as a standalone inline SVG image (no XML declaration), scaled by viewBox."""
    root = _qr(text).make_image(image_factory=SvgPathImage).get_image()
    for fixed in ("width", "height"):
        root.attrib.pop(fixed, None)
    root.set("role", "img")
    root.set("shape-rendering", "crispEdges")
    for path in root.iter("path"):
        path.attrib.pop("id", None)  # several codes on one page must not share an id
    title = ET.Element("title")
    title.text = text
    background = ET.Element("rect", width="100%", height="100%", fill="#ffffff")
    root.insert(0, title)
    root.insert(1, background)
    return ET.tostring(root, encoding="unicode")


def qr_png(text: str, box_size: int = 10) -> bytes:
    """``text`` as a black-on-white PNG, ``box_size`` pixels per module."""
    if not isinstance(box_size, int) or not 1 <= box_size <= 100:
        raise ValueError("box_size is a whole number of pixels from 1 to 100")
    code = _qr(text)
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(data: bytes) -> list[str]:
    """The texts of the QR codes in a PNG or JPEG image (or any image Pillow reads);
    ``[]`` when it shows none. Raises ValueError for bytes that are not an image."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError("decode_image needs the bytes of an image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            grey = image.convert("L")
    except UnidentifiedImageError:
        raise ValueError("not an image: expected the bytes of a PNG or JPEG file") from None
    except Image.DecompressionBombError as error:
        raise ValueError(f"the image is too large to read: {error}") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt image data
        raise ValueError(f"the image data is damaged: {error}") from None
    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    return [result.text for result in found]
