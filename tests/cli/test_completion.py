"""Shell completion (docs/cli.md): click writes the script and answers completion queries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _effbench(env: dict) -> str:
    full = {**os.environ, "PYTHONPATH": SRC, **env}
    done = subprocess.run([sys.executable, "-c", "import sys; from effbench.cli import main; sys.exit(main())"],
                          env=full, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bash_script_and_a_completion_query():
    script = _effbench({"_EFFBENCH_COMPLETE": "bash_source"})
    assert "_effbench_completion()" in script and "complete -o nosort -F _effbench_completion effbench" in script
    assert "#compdef effbench" in _effbench({"_EFFBENCH_COMPLETE": "zsh_source"})
    assert "complete --no-files --command effbench" in _effbench({"_EFFBENCH_COMPLETE": "fish_source"})
    commands = _effbench({"_EFFBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "effbench sh", "COMP_CWORD": "1"})
    assert commands.split() == ["plain,show"]
    options = _effbench({"_EFFBENCH_COMPLETE": "bash_complete", "COMP_WORDS": "effbench show --", "COMP_CWORD": "2"})
    assert "plain,--batches" in options.split()
