"""CPU time of process groups read from /proc (Linux), for the benchmarks' per-item CPU figures.

A group is a root process and all its descendants. Its CPU is the root's and every live
descendant's utime + stime, plus cutime + cstime (what children that already exited and were
reaped used: Postgres backends that ended, for one). The difference of two snapshots is what the
group spent between them.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU s, reaped children's CPU s) of one process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from 0.
    ppid = int(fields[1])
    own = (int(fields[11]) + int(fields[12])) / _TICK
    reaped = (int(fields[13]) + int(fields[14])) / _TICK
    return ppid, own, reaped


def _table() -> dict[int, tuple[int, float, float]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                out[int(entry)] = st
    return out


def group_cpu(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named group (root pid and its descendants)."""
    table = _table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for name, root in roots.items():
        if root not in table:
            out[name] = 0.0
            continue
        total = table[root][2]
        stack = [root]
        while stack:
            pid = stack.pop()
            total += table[pid][1]
            stack.extend(children.get(pid, ()))
        out[name] = total
    return out


def listening_pid(port: int) -> int | None:
    """The process holding the TCP socket that listens on `port` (IPv4 or IPv6), if visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in targets:
                    return _root_of_same_exe(int(entry))
            except OSError:
                continue
    return None


def _root_of_same_exe(pid: int) -> int:
    """Climb to the topmost ancestor running the same program (the postmaster, the beam)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return pid
    while True:
        st = _stat(pid)
        if st is None or st[0] <= 1:
            return pid
        try:
            if os.readlink(f"/proc/{st[0]}/exe") != exe:
                return pid
        except OSError:
            return pid
        pid = st[0]
