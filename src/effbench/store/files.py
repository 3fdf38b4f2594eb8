"""Writing result files: never overwrite without being told, never leave half a file, always valid JSON."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from effbench.errors import ConfigError


def json_ready(obj):
    """JSON has no NaN or infinity: they become null (recursively)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj


def json_default(o):
    """numpy scalars and arrays, paths: as JSON numbers, lists and strings."""
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dumps_json(doc, *, indent: int = 1) -> str:
    """Strict JSON text (NaN/inf as null; numpy scalars and arrays as numbers and lists)."""
    return json.dumps(json_ready(json.loads(json.dumps(doc, default=json_default))), indent=indent, allow_nan=False) + "\n"


def check_output(path, force: bool, option: str) -> Path:
    """Fail before any work is done if ``path`` cannot be written: it exists (without ``force``), it is a
    folder, or its folder does not exist. ``option`` names the command-line option in the message."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {str(p)!r} is a directory; give a file path")
    if p.exists() and not force:
        raise ConfigError(f"{option} {str(p)!r} already exists; give another path or --force to overwrite it")
    if not p.resolve().parent.is_dir():
        raise ConfigError(f"{option} {str(p)!r}: the folder {str(p.resolve().parent)!r} does not exist")
    return p


def write_output(path, text: str, *, force: bool, option: str) -> Path | None:
    """Write ``text`` to ``path`` ('-' for standard output) atomically (a temporary file, then a rename)."""
    if path in (None, "-"):
        sys.stdout.write(text)
        return None
    p = check_output(path, force, option)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a result file gets the usual permissions
        os.replace(tmp, p)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ConfigError(f"cannot write {option} {str(p)!r}: {exc.strerror}") from None
    return p


def write_json(path, doc, *, force: bool, option: str = "--json", indent: int = 1) -> Path | None:
    return write_output(path, dumps_json(doc, indent=indent), force=force, option=option)
