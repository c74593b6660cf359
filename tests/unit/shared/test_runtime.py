"""A service whose essential background loop dies exits non-zero instead of running on without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import asyncio
    from shared.runtime import run, supervise

    async def loop(stop):
        await asyncio.sleep(0.05)
        raise RuntimeError("the loop broke")

    async def main(stop):
        supervise(asyncio.create_task(loop(stop)), name="scheduler", stop=stop)
        await stop.wait()   # the service's own work, until told to stop

    run(main)
""")


def test_the_process_exits_1_when_a_supervised_loop_dies():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "background loop scheduler died" in done.stderr


def test_a_loop_ending_because_the_service_stops_is_no_failure():
    program = PROGRAM.replace('raise RuntimeError("the loop broke")', "stop.set()")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
