"""Audit the hashed lock files with pip-audit and say plainly how much of the tree was really checked.

Run by scripts/audit.sh inside the tools environment. pip-audit reports "no known vulnerabilities" even when
it could not look a package up, so its JSON report is read instead: a package it skipped counts as unchecked.
Exit 1 when a vulnerability is found, 0 otherwise (including "could not check", which is printed loudly).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SERVICES = ("pypi", "osv")


def audit(lock: str, service: str) -> dict[str, object] | None:
    """pip-audit's JSON report for one lock file against one advisory service, or None when it failed to run."""
    command = [str(Path(sys.executable).with_name("pip-audit")), "--requirement", lock, "--require-hashes",
               "--disable-pip", "--progress-spinner", "off", "--vulnerability-service", service, "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    return report if isinstance(report, dict) else None


def main(locks: list[str]) -> int:
    """Audit each lock; print a summary line per lock and every vulnerability found."""
    found = 0
    unchecked_total = 0
    for lock in locks:
        best: tuple[int, str, list[dict[str, object]]] | None = None
        for service in SERVICES:
            report = audit(lock, service)
            if report is None:
                continue
            deps = [d for d in report.get("dependencies", []) if isinstance(d, dict)]
            checked = sum("skip_reason" not in d for d in deps)
            if best is None or checked > best[0]:
                best = (checked, service, deps)
            if deps and checked == len(deps):
                break
        if best is None or best[0] == 0:
            total = len(best[2]) if best else 0
            print(f"AUDIT NOT DONE for {lock}: no advisory database ({', '.join(SERVICES)}) could be queried for "
                  f"any of its {total} packages (offline, or a mirror without advisory data).")
            unchecked_total += 1
            continue
        checked, service, deps = best
        skipped = [f"{d['name']} {d['version']}" for d in deps if "skip_reason" in d]
        for dep in deps:
            for vuln in dep.get("vulns", []) or []:
                found += 1
                fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
                print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln.get('id')} (fixed in: {fixes})")
        print(f"{lock}: {checked} of {len(deps)} packages checked against {service}; {found} vulnerabilities")
        if skipped:
            print(f"  NOT checked: {', '.join(skipped)}")
    if unchecked_total:
        print("The lines above marked AUDIT NOT DONE were not checked for vulnerabilities; run 'make audit' again "
              "with access to pypi.org or api.osv.dev.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements.lock", "requirements-test.lock"]))
