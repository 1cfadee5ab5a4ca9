"""The point-of-sale web page (SPEC §5, §10 ``/pos``), for a shop's phone or tablet.

``pos`` is a Flask blueprint that the app factory registers: ``GET /pos`` is the page
(templates/pos.html) and ``/pos/static/...`` its script and style (static/). The page is
a client of the HTTP API like :mod:`merchant_pos.client`, in the browser: it signs in with
a terminal token, reads codes (typed, camera, or a photo), redeems, refunds and shows the
day; everything it shows about beans is what the server answered.

Nothing here imports api/, ledger/ or projections/. The page loads nothing from other
sites, and says so to the browser (Content-Security-Policy), so a shop's tablet runs
without the internet beyond the Goldbean server.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

pos = Blueprint(
    "pos",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/pos/static",
)

#: Only this server: scripts, styles, API calls; images from canvas/camera blobs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@pos.get("/pos")
def page() -> Response:
    """The POS page (the terminal token is pasted into it and kept by the browser)."""
    response = Response(render_template("pos.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Permissions-Policy"] = "camera=(self)"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response
