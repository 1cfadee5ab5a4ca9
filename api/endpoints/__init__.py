"""The HTTP API of SPEC §6, one module per resource.

Every module here defines ``blp``, a flask-smorest Blueprint with its marshmallow
schemas; :func:`register_all` registers them all (the app factory calls it), so adding a
resource is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask_smorest import Api


def register_all(api: Api) -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        blueprint = getattr(importlib.import_module(f"{__name__}.{module}"), "blp", None)
        if blueprint is not None:
            api.register_blueprint(blueprint)
