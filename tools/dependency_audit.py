"""Audit the installed dependencies for known vulnerabilities (issue 7): ``make audit``.

First pip-audit (PyPI's advisory data, per installed version). Where pip-audit cannot
audit a package (a registry mirror that answers ``/pypi/<name>/json`` but not the
per-version ``/pypi/<name>/<version>/json`` it asks for), this falls back to the project
page: PyPI's ``vulnerabilities`` there describe the project's newest release, so they
answer for an installed version only when it *is* the newest one. Anything still
unanswered is listed as not audited, never counted as clean.

Exit 1 when a vulnerability is known for an installed version, 2 when the audit could not
run at all; 0 otherwise (with the unaudited packages named). Loopback and the package
registry only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

INDEX = os.environ.get("GOLDBEAN_AUDIT_INDEX", "https://pypi.org/pypi")
TIMEOUT = 20


def pip_audit() -> list[dict]:
    command = [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "--local"]
    command += ["--skip-editable", "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        sys.stderr.write(done.stderr)
        raise SystemExit("dependency audit: pip-audit did not run (is it installed?)")
    return json.loads(done.stdout)["dependencies"]


def project_vulnerabilities(name: str, version: str) -> list[dict] | None:
    """The advisories PyPI lists for ``name`` if ``version`` is its newest release, else None."""
    try:
        with urllib.request.urlopen(f"{INDEX}/{name}/json", timeout=TIMEOUT) as answer:
            project = json.load(answer)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None
    if project.get("info", {}).get("version") != version:
        return None
    return [
        {"id": v.get("id"), "fix_versions": v.get("fixed_in", [])}
        for v in project.get("vulnerabilities") or []
    ]


def main() -> int:
    dependencies = pip_audit()
    audited, unaudited, found = 0, [], []
    for dependency in dependencies:
        name = dependency["name"]
        if "skip_reason" in dependency:
            if not dependency["skip_reason"].startswith("Dependency not found"):
                continue  # this project itself (installed editable)
            version = dependency["skip_reason"].rsplit("(", 1)[-1].rstrip(")")
            vulns = project_vulnerabilities(name, version)
            if vulns is None:
                unaudited.append(f"{name} {version}")
                continue
        else:
            version, vulns = dependency["version"], dependency.get("vulns", [])
        audited += 1
        found += [(name, version, v["id"], v.get("fix_versions", [])) for v in vulns]
    print(
        f"dependency audit: {audited + len(unaudited)} packages, {audited} audited, "
        f"{len(found)} known vulnerabilities, {len(unaudited)} not audited"
    )
    for name, version, vuln_id, fixes in found:
        print(f"  VULNERABLE {name} {version}: {vuln_id} (fixed in {', '.join(fixes) or '?'})")
    if unaudited:
        print("  not audited (no advisory data for these versions): " + ", ".join(unaudited))
    if audited == 0:
        print("dependency audit: the advisory service answered for nothing", file=sys.stderr)
        return 2
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
