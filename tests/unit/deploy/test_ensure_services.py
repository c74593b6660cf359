"""`make services` on a machine without Postgres or RabbitMQ: install them as root on Debian or
Ubuntu, else print the one command that would and stop with exit 1 (deploy/ensure-services.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "ensure-services.sh"
TOOLS = ("bash", "grep", "sed", "seq", "ls", "sort", "tail", "sleep", "cat")
CLOSED = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/leadsync",
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:2/",
}


def machine(
    tmp_path: Path, *, os_id: str, uid: int, system: str = "Linux", apt: bool = True, brew: bool = False
) -> tuple[Path, dict[str, str]]:
    """A PATH holding only basic tools and stubs (id, uname, apt-get, brew): nothing installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    stubs = {"id": f"echo {uid}", "uname": f"echo {system}"}
    if apt:
        stubs["apt-get"] = f'echo "apt-get $*" >> {tmp_path}/calls'
    if brew:
        stubs["brew"] = "true"
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        stub.chmod(0o755)
    release = tmp_path / "os-release"
    release.write_text(f"ID={os_id}\n")
    env = {
        "PATH": str(bin_dir),
        "LEADSYNC_OS_RELEASE": str(release),
        "LEADSYNC_WAIT_S": "1",
        "HOME": os.environ.get("HOME", "/tmp"),
        **CLOSED,
    }
    return tmp_path, env


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [env["PATH"] + "/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("os_id", "system", "brew", "command"),
    [
        ("debian", "Linux", False, "sudo apt-get install -y postgresql rabbitmq-server"),
        ("ubuntu", "Linux", False, "sudo apt-get install -y postgresql rabbitmq-server"),
        ("fedora", "Linux", False, "docker compose up -d postgres rabbitmq"),
        (
            "macos",
            "Darwin",
            True,
            "brew install postgresql@16 rabbitmq && brew services start "
            "postgresql@16 && brew services start rabbitmq",
        ),
    ],
)
def test_without_root_or_elsewhere_it_prints_the_one_command_and_exits_1(
    tmp_path, os_id, system, brew, command
):
    root, env = machine(tmp_path, os_id=os_id, uid=1000, system=system, brew=brew)
    result = run(env)
    assert result.returncode == 1
    assert f"  {command}\n" in result.stderr, result.stderr
    assert not (root / "calls").exists()  # nothing was installed


def test_as_root_on_debian_it_installs_both_from_the_distribution(tmp_path):
    root, env = machine(tmp_path, os_id="debian", uid=0)
    result = run(env)
    calls = (root / "calls").read_text().splitlines()
    assert calls[0] == "apt-get update -qq"
    assert calls[1] == "apt-get install -y -qq postgresql rabbitmq-server"
    # The stubs install nothing that listens: the script then says so and fails.
    assert result.returncode == 1 and "did not come up" in result.stderr


def test_servers_that_answer_need_nothing(tmp_path):
    _, env = machine(tmp_path, os_id="debian", uid=1000)
    env.pop("DATABASE_URL")
    env.pop("AMQP_URL")
    env.update(
        DATABASE_URL="postgresql://postgres@db.example:5432/x", AMQP_URL="amqp://guest:guest@mq.example:5672/"
    )
    result = run(env)
    assert result.returncode == 0, result.stderr
