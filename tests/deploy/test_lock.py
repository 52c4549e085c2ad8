"""The lock files: every dependency of pyproject.toml pinned exactly, with hashes, within its declared range, so
that a dependency added to pyproject.toml without ``make lock`` fails here rather than at install time."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Package name → pinned version in one lock file; fails when a pin has no hash."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    found: dict[str, str] = {}
    for block in blocks:
        match = _PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{match.group(1)} is pinned without a hash in {lock}"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def declared(extra: str | None) -> list[Requirement]:
    """The requirements pyproject.toml declares (with one extra's)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"]) + (list(project["optional-dependencies"][extra]) if extra else [])
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-test.lock", "test")])
def test_every_declared_dependency_is_pinned_in_range_with_hashes(lock: str, extra: str | None) -> None:
    locked = pins(lock)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is missing from {lock}: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {name}=={locked[name]} outside {requirement.specifier}: run make lock"
        )


def test_the_test_lock_pins_the_runtime_tree_identically() -> None:
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert {name: test.get(name) for name in runtime} == runtime


def test_the_lock_names_no_machine_specific_index() -> None:
    for lock in ("requirements.lock", "requirements-test.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        assert "--find-links" not in text and "--index-url" not in text and "file://" not in text


def test_makefile_installs_from_the_lock_and_reinstalls_when_it_changes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.MULTILINE)
    assert stamp_rule is not None and "$(TEST_LOCK)" in stamp_rule.group(1)
    assert "--require-hashes -r $(TEST_LOCK)" in makefile and "--no-deps -e ." in makefile
