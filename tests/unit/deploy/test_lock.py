"""Installs come from hashed locks that satisfy pyproject.toml (a dependency added without
`make lock` fails here, not in production)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every package in a lock file."""
    text = (ROOT / lock).read_text()
    found: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", block)
        if match:
            name = canonicalize_name(match[1].split("[")[0])
            found[name] = (match[2], block.count("--hash=sha256:"))
    return found


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PYPROJECT["project"]["dependencies"]),
        (
            "requirements-test.lock",
            PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"],
        ),
    ],
)
def test_every_requirement_is_pinned_with_hashes_within_its_range(lock, requirements):
    locked = pins(lock)
    assert locked and all(hashes > 0 for _, hashes in locked.values())
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"{lock} pins {name}=={locked[name][0]}, outside {requirement.specifier}: run `make lock`"
        )


def test_the_floors_exclude_versions_with_known_advisories():
    locked = pins("requirements.lock")
    floors = {"starlette": "1.0.1", "cryptography": "46.0.7", "h11": "0.16.0"}
    for name, floor in floors.items():
        requirement = next(
            Requirement(r)
            for r in PYPROJECT["project"]["dependencies"]
            if canonicalize_name(Requirement(r).name) == name
        )
        assert not requirement.specifier.contains(_below(floor)), name
        assert requirement.specifier.contains(locked[name][0])


def _below(version: str) -> str:
    major, minor, patch = (int(p) for p in version.split("."))
    return (
        f"{major}.{minor}.{patch - 1}" if patch else f"{major}.{minor - 1}.99" if minor else f"{major - 1}.99"
    )


def test_make_ci_and_the_image_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "--require-hashes -r $(TEST_LOCK)" in makefile and "TEST_LOCK := requirements-test.lock" in makefile
    )
    assert "make test" in (ROOT / ".ci/run").read_text()  # CI runs make test, which installs
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
