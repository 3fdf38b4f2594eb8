"""The README's Python example runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    env = {"EFFBENCH_DB": str(tmp_path / "r.sqlite"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if os.environ.get("PYTHONPATH"):  # effbench used from a source tree rather than installed
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("stored as run ")
    table = [line.split() for line in lines if line.split() and line.split()[0].isdigit()]  # the DataFrame's rows
    assert [row[1] for row in table] == ["forest/sklearn", "tinynet/torch", "rule/callable"]
    assert all(row[2] == "ok" for row in table)
    assert lines[-2] == "units: s provenance: " + lines[-2].split("provenance: ", 1)[1] and "'accuracy': 'measured'" in lines[-2]
