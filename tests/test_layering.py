"""Each package imports only what its layer may (DESIGN.md "The shape").

``ledger/`` is the domain: it may use eventsourcing and the standard library, but not
Flask/marshmallow (the HTTP layer), database drivers or ORMs (the persistence adapters),
nor the packages built on top of it (api, projections, merchant_pos). ``projections/``
builds on ledger and never on api or the web. ``merchant_pos/`` talks to the server over
HTTP only. The auditor's verifier uses nothing but the standard library, so it shares no
code path with the projections it checks.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger"

FORBIDDEN = frozenset(
    {
        "flask",
        "marshmallow",
        "flask_smorest",
        "psycopg",
        "psycopg2",
        "sqlalchemy",
        "api",
        "projections",
        "merchant_pos",
    }
)


def forbidden_imports(
    source: str, filename: str = "<string>", forbidden: frozenset[str] = FORBIDDEN
) -> list[tuple[int, str]]:
    """(line, module) for every import of a forbidden top-level package in ``source``.

    Catches ``import x``, ``import x.y``, ``from x import y``, ``from x.y import z`` and
    ``importlib.import_module("x")`` / ``__import__("x")`` with a literal name; relative
    imports (``from . import y``) stay inside ledger and are allowed.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in forbidden:
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] in forbidden:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.split(".")[0] in forbidden
            ):
                found.append((node.lineno, first.value))
    return sorted(found)


def test_checker_sees_every_import_form() -> None:
    src = (
        "import os\n"
        "import flask\n"
        "import sqlalchemy.orm as orm\n"
        "from psycopg import sql\n"
        "from api.cli import main\n"
        "from . import errors\n"
        "from .projections import x\n"
        "import importlib\n"
        "importlib.import_module('merchant_pos.codes')\n"
        "def f():\n"
        "    import marshmallow\n"
        "import apis, ledger.errors\n"
    )
    assert forbidden_imports(src) == [
        (2, "flask"),
        (3, "sqlalchemy.orm"),
        (4, "psycopg"),
        (5, "api.cli"),
        (9, "merchant_pos.codes"),
        (11, "marshmallow"),
    ]


def test_ledger_imports_nothing_from_outer_layers() -> None:
    files = sorted(LEDGER.rglob("*.py"))
    assert files, f"no .py files under {LEDGER}"
    problems = []
    for path in files:
        rel = path.relative_to(LEDGER.parent)
        for line, module in forbidden_imports(path.read_text(encoding="utf-8"), str(rel)):
            problems.append(f"{rel}:{line}: imports {module!r}")
    assert not problems, (
        "ledger/ must not import web, database-driver or outer-layer packages:\n  "
        + "\n  ".join(problems)
    )


OUTER_RULES = {
    "projections": frozenset({"flask", "marshmallow", "flask_smorest", "api", "merchant_pos"}),
    "merchant_pos": frozenset(
        {"api", "ledger", "projections", "eventsourcing", "sqlalchemy", "psycopg"}
    ),
}


@pytest.mark.parametrize("package", sorted(OUTER_RULES))
def test_outer_packages_keep_to_their_layer(package: str) -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}: imports {module!r}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in forbidden_imports(
            path.read_text(encoding="utf-8"), str(path), OUTER_RULES[package]
        )
    ]
    assert not problems, f"{package}/ reaches outside its layer:\n  " + "\n  ".join(problems)


def test_the_verifier_uses_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__", "projections"}
    for name in ("verifier.py", "verifier_reports.py"):
        source = (ROOT / "projections" / name).read_text(encoding="utf-8")
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module)
        outside = {m for m in imported if m.split(".")[0] not in allowed}
        inside = {m for m in imported if m.split(".")[0] == "projections"}
        assert not outside, f"{name} imports {sorted(outside)}"
        assert inside <= {"projections.verifier_reports"}, f"{name} imports {sorted(inside)}"
