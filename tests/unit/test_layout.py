"""The code's shape that the gates and the style guide rely on (issue 14), checked on the tree.

One `build`/`consumer_main` shape for the consumer services, nothing importing a `__main__`,
one vocabulary, one error tree, one way to the webhook's dependencies, and gates that run them.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import leadsync
import services
import shared
from shared import errors, vocabulary
from shared.runtime import Service

ROOT = Path(__file__).resolve().parents[2]
CONSUMERS = ("analyzer", "assigner", "backfill")
SOURCE = [
    p
    for top in ("shared", "services", "leadsync", "bench", "tests")
    for p in sorted((ROOT / top).rglob("*.py"))
]


def source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("name", CONSUMERS)
def test_each_consumer_service_is_a_build_run_by_consumer_main(name: str) -> None:
    main = ast.parse(source(ROOT / "services" / name / "__main__.py"))
    body = [node for node in main.body if not isinstance(node, ast.Import | ast.ImportFrom)]
    docstring, guard = body  # the module's sentence, then `if __name__ == "__main__": …`
    assert isinstance(docstring, ast.Expr) and isinstance(guard, ast.If)
    [call] = guard.body
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    assert ast.unparse(call.value) == f"consumer_main({name!r}, {name.title()}Settings, build)"

    build = importlib.import_module(f"services.{name}.service").build
    params = inspect.signature(build).parameters
    assert list(params)[:4] == ["settings", "stack", "pool", "publisher"]
    assert all(
        params[p].kind is inspect.Parameter.KEYWORD_ONLY and params[p].default is None
        for p in list(params)[2:]
    )
    assert inspect.signature(build).return_annotation in ("Service", "AnalyzerService")
    assert (ROOT / "services" / name / "consumer.py").exists()  # the handler, by one name


def test_service_is_the_one_thing_consumer_main_runs() -> None:
    assert {f.name for f in Service.__dataclass_fields__.values()} == {"consumer", "pool", "on_stop", "loops"}


def test_no_test_bench_or_command_imports_a_main_module() -> None:
    pattern = re.compile(r"^\s*(from\s+\S*__main__\s+import|import\s+\S*__main__)", re.M)
    assert [relative(p) for p in SOURCE if pattern.search(source(p))] == []


# What would be a second definition of a word the vocabulary module holds.
WORDS = {
    member.value
    for enum in (
        vocabulary.StageType,
        vocabulary.PipelineMode,
        vocabulary.JobKind,
        vocabulary.JobStatus,
        vocabulary.ItemOutcome,
        vocabulary.HealthStatus,
    )
    for member in enum
}
LITERAL = re.compile(r"Literal\[([^\]]*)\]")
WORD_TUPLE = re.compile(r"[(\[{]\s*\"([A-Za-z_]+)\"\s*(?:,\s*\"[A-Za-z_]+\"\s*)+[)\]}]")
CLASSES = re.compile(
    r"^class (Stage|StageType|PipelineMode|JobKind|JobStatus|ItemOutcome|HealthStatus)\b", re.M
)


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCE if p.parts[len(ROOT.parts)] in ("shared", "services", "leadsync", "bench")],
    ids=relative,
)
def test_stage_types_job_statuses_and_kinds_are_defined_once(path: Path) -> None:
    if path == ROOT / "shared" / "vocabulary.py":
        return
    text = source(path)
    for literal in LITERAL.findall(text):
        words = set(re.findall(r"\"([A-Za-z_]+)\"", literal))
        assert not (words and words <= WORDS), f"{relative(path)}: Literal[{literal}]"
    for match in WORD_TUPLE.finditer(text):
        words = set(re.findall(r"\"([A-Za-z_]+)\"", match.group(0)))
        assert not words <= WORDS, f"{relative(path)}: {match.group(0)}"
    assert not CLASSES.search(text), relative(path)


def _modules() -> list[str]:
    names = []
    for package in (shared, services, leadsync):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return names


def test_every_project_exception_is_in_the_one_tree() -> None:
    outside = {"shared.settings.ConfigError", "shared.settings.PublishedSecret"}  # SystemExit, ValueError
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == name:
                found[f"{name}.{cls.__name__}"] = cls
    assert outside <= set(found)
    strays = [
        name
        for name, cls in found.items()
        if name not in outside and not issubclass(cls, errors.LeadsyncError)
    ]
    assert strays == []
    # Defined in shared/errors.py, but for the admin API's HTTP answer, which is the API's own.
    elsewhere = {name for name in found if not name.startswith("shared.errors.")} - outside
    assert elsewhere == {"services.webhook.api.errors.ApiError"}


def test_one_tuple_of_database_errors_and_no_redundant_broker_pairs() -> None:
    spelled = re.compile(r"except \([^)]*asyncpg\.(PostgresError|InterfaceError)")
    paired = re.compile(r"BrokerUnavailable,\s*PublishNotConfirmed|PublishNotConfirmed,\s*BrokerUnavailable")
    for path in SOURCE:
        if path.parts[len(ROOT.parts)] == "tests" or path.name in ("errors.py", "retry.py"):
            continue
        text = source(path)
        assert not spelled.search(text), relative(path)
        assert not paired.search(text), relative(path)


def test_the_cli_depends_on_no_http_error_and_defines_no_error_of_its_own() -> None:
    for path in (ROOT / "leadsync").rglob("*.py"):
        text = source(path)
        assert "ApiError" not in text and "from leadsync.cli import CommandError" not in text, relative(path)


def test_the_webhook_reaches_its_dependencies_only_through_deps_of() -> None:
    for path in (ROOT / "services" / "webhook").rglob("*.py"):
        if path.name != "deps.py":
            assert "state.deps" not in source(path), relative(path)


def test_make_lint_runs_the_three_gates_and_ci_runs_it_before_the_tests() -> None:
    makefile = source(ROOT / "Makefile")
    lint = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert "ruff check ." in lint and "ruff format --check ." in lint and "mypy" in lint
    assert re.search(r"^strict = true$", source(ROOT / "pyproject.toml"), re.M)
    ci = source(ROOT / ".ci" / "run")
    assert ci.index("make lint") < ci.index("make test")
