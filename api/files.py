"""File answers: downloads and QR images of codes. Bottom floor."""

from __future__ import annotations

from flask import Response

from merchant_pos.qr import qr_png, qr_svg


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """A file answer that browsers save under ``filename``."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def code_image(code: str, kind: str) -> Response:
    """A code's QR image, ``kind`` "svg" or "png", shown inline. Not kept by any cache
    (an activity's check-in code is a secret while the activity runs)."""
    if kind == "svg":
        response = Response(qr_svg(code), mimetype="image/svg+xml")
    else:
        response = Response(qr_png(code), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response
