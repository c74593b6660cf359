"""leadsync installs top-level `shared` and `services` packages: an application's own environment
holds nothing else by those names (docs/decisions.md, issue 14). This fails loudly when it does."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import leadsync
import services
import shared

ROOT = Path(__file__).resolve().parents[2]
OURS = ("shared", "services", "leadsync")


def providers(top: str) -> list[str]:
    """Every installed distribution that puts a top-level `top` package or module in place."""
    found = []
    for dist in importlib.metadata.distributions():
        names = {line.strip() for line in (dist.read_text("top_level.txt") or "").splitlines()}
        for path in dist.files or ():
            parts = Path(str(path)).parts
            if parts and not parts[0].endswith((".dist-info", ".egg-info", ".data")) and parts[0] != "..":
                names.add(parts[0].removesuffix(".py"))
        if top in names:
            found.append(dist.metadata["Name"])
    return sorted(set(found))


def test_no_other_distribution_provides_our_top_level_packages() -> None:
    for top in OURS:
        others = [name for name in providers(top) if name.lower() != "leadsync"]
        assert others == [], (
            f"installed distribution(s) {others} also provide a top-level `{top}` package; leadsync "
            "is an application and must be installed in an environment of its own (docs/decisions.md)"
        )


def test_the_packages_imported_are_this_checkout() -> None:
    for module in (shared, services, leadsync):
        assert Path(next(iter(module.__path__))).resolve().parent == ROOT, module.__name__
