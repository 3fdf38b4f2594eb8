"""Fuzzing the command line: whatever a user types or feeds, the answer is a result (exit 0) or
one clean error line (exit 2), never a traceback. Seeded, so CI is repeatable; the 10,000-case
counts are in docs/reliability.md (benchmarks/fuzz_cli.py)."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings

from effbench.cli import main

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz_strategies import CASES  # noqa: E402


def run_case(folder: str, files: dict, args: list[str]) -> int:
    for name, text in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
    return main([a.replace("{dir}", folder) for a in args])


@pytest.mark.parametrize("command", sorted(CASES))
def test_every_input_gets_a_result_or_one_clean_error(command, tmp_path_factory, capsys):
    @settings(derandomize=True, max_examples=100, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(CASES[command]())
    def one(case):
        files, args = case
        folder = str(tmp_path_factory.mktemp("fuzz"))
        rc = run_case(folder, files, args)
        err = capsys.readouterr().err
        assert rc in (0, 2), (rc, args, files, err)
        if rc == 2:
            lines = [ln for ln in err.splitlines() if ln.startswith("effbench: error:")]
            assert len(lines) == 1, err

    one()
