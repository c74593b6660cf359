"""The fallback gives the same result in every process: golden values under several hash seeds.

Scoring twice in one process cannot catch a result that depends on set iteration or `hash()`
(both vary with PYTHONHASHSEED between processes); each seed here runs in its own interpreter.
After an intended change of the rules: `.venv/bin/python -m tests.support.scoring_corpus --write`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import scoring_corpus

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ("0", "1", "42", "20261125", "random")


def test_golden_values_hold_in_fresh_processes_under_several_hash_seeds():
    golden = json.loads(scoring_corpus.GOLDEN.read_text())
    assert len(golden) == len(scoring_corpus.load())
    runs = {
        seed: subprocess.Popen(
            [sys.executable, "-m", "tests.support.scoring_corpus"],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in SEEDS
    }
    finished = {seed: (proc.communicate(timeout=120), proc.returncode) for seed, proc in runs.items()}
    for seed, ((out, err), code) in finished.items():
        assert code == 0, err.decode()
        got = json.loads(out)
        differing = [k for k in golden if got.get(k) != golden[k]]
        assert not differing, f"PYTHONHASHSEED={seed}: {differing[:5]} differ from {scoring_corpus.GOLDEN}"


def test_the_golden_file_is_what_this_process_computes():
    assert scoring_corpus.dump_golden(scoring_corpus.golden_values()) == scoring_corpus.GOLDEN.read_text()
