"""Each package imports only what its layer may (DESIGN.md "The shape").

``ledger/`` is the domain: it may use eventsourcing and the standard library, but not
Flask/marshmallow (the HTTP layer), database drivers or ORMs (the persistence adapters),
nor the packages built on top of it (api, projections, merchant_pos). ``projections/``
builds on ledger and never on api or the web. ``merchant_pos/`` talks to the server over
HTTP only. The auditor's verifier uses nothing but the standard library, so it shares no
code path with the projections it checks.

Inside ``api/`` the floors of docs/ARCHITECTURE.md: no module of the product packages
takes part in an import circle (deferred imports inside functions count too), pages and
endpoints never import each other (nor one endpoint module another), and nothing but the
entry points imports the composition root ``api.app``.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate, DomainEvent

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


# --- the import graph of the product packages ---------------------------------------------

PRODUCT = ("ledger", "projections", "api", "merchant_pos")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the product packages by dotted name (a package by its own name)."""
    found = {}
    for package in PRODUCT:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def import_graph(modules: dict[str, str]) -> dict[str, set[str]]:
    """module -> the product modules it imports, at the top or inside a function, given
    each module's source. ``from package import module`` counts as importing the module."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, source in modules.items():
        is_package = source.startswith("#package\n")
        here = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(source)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                found = known(target)
                if found and found != name:
                    edges.add(found)
        graph[name] = edges
    return graph


def product_graph() -> dict[str, set[str]]:
    sources = {}
    for name, path in module_files().items():
        text = path.read_text(encoding="utf-8")
        sources[name] = ("#package\n" + text) if path.name == "__init__.py" else text
    return import_graph(sources)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_circle_finder_sees_a_circle_through_a_deferred_import() -> None:
    graph = import_graph(
        {
            "api": "#package\n",
            "api.app": "from api.web import pages\ndef ledger_of(): ...\n",
            "api.web": "#package\n",
            "api.web.pages": "def view():\n    from api.app import ledger_of\n",
            "api.context": "from api import settings\n",
            "api.settings": "",
        }
    )
    assert circles(graph) == [["api.app", "api.web.pages"]]


def test_no_import_circle_in_the_product_packages() -> None:
    found = circles(product_graph())
    assert not found, "import circles (break them with a lower floor):\n  " + "\n  ".join(
        " <-> ".join(circle) for circle in found
    )


def _imports_of(graph: dict[str, set[str]], prefix: str) -> Iterable[tuple[str, str]]:
    for module, imported in sorted(graph.items()):
        if module == prefix or module.startswith(prefix + "."):
            for target in sorted(imported):
                yield module, target


def test_pages_and_endpoints_never_import_each_other() -> None:
    graph = product_graph()
    problems = [
        f"{module} imports {target}"
        for module, target in _imports_of(graph, "api.web")
        if target.startswith("api.endpoints")
    ] + [
        f"{module} imports {target}"
        for module, target in _imports_of(graph, "api.endpoints")
        if target.startswith("api.web")
        or (target.startswith("api.endpoints.") and module != "api.endpoints")
    ]
    assert not problems, "a shared helper belongs on a lower floor:\n  " + "\n  ".join(problems)


def test_only_the_entry_points_import_the_composition_root() -> None:
    graph = product_graph()
    allowed = {"api.serve", "api.cli"}
    problems = sorted(
        m for m, imported in graph.items() if "api.app" in imported and m not in allowed
    )
    assert not problems, f"modules that reach api.app (use api.context): {problems}"


def test_pages_reach_the_ledger_through_its_commands_and_queries() -> None:
    """No page touches the recorder, the mapper, the index or an aggregate class."""
    problems = []
    for name, path in module_files().items():
        if not name.startswith("api.web"):
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and node.attr in {"recorder", "mapper", "index"}:
                problems.append(f"{name}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] == "eventsourcing":
                    problems.append(f"{name}:{node.lineno}: imports from {node.module}")
                elif node.module.startswith("ledger."):
                    module = importlib.import_module(node.module)
                    aggregates = [
                        alias.name
                        for alias in node.names
                        if isinstance(getattr(module, alias.name, None), type)
                        and issubclass(getattr(module, alias.name), (Aggregate, DomainEvent))
                    ]
                    if aggregates:
                        problems.append(f"{name}:{node.lineno}: imports {aggregates}")
    assert not problems, "pages use Ledger commands/queries and read models:\n  " + "\n  ".join(
        problems
    )
