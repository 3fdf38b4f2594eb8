"""Writing result files: never overwrite without being told, never leave half a file, always valid JSON."""

from __future__ import annotations

import json
import math
import os
import stat
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
    try:  # no NaN or infinity anywhere (the usual case): one pass, not three
        return json.dumps(doc, default=json_default, indent=indent, allow_nan=False) + "\n"
    except ValueError:
        pass
    return json.dumps(json_ready(json.loads(json.dumps(doc, default=json_default))), indent=indent, allow_nan=False) + "\n"


def dumps_json_list(items) -> str:
    """A strict JSON list, one compact item a line (a list of 10^4+ records: C-encoded, and a line each)."""
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(dumps_json(item, indent=None)[:-1] for item in items) + "\n]\n"


def file_kind(path) -> str | None:
    """What is at ``path`` without following a link: None (nothing), "regular file", "directory",
    "symbolic link", "character device", "block device", "FIFO" or "socket"."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError:
        return "file that cannot be examined"
    for test, kind in ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


def check_replaceable(path, option: str) -> None:
    """Refuse to replace anything but a regular file: ``--force`` never turns a device, a FIFO or a
    link (or what it points to) into a new regular file."""
    kind = file_kind(path)
    if kind == "directory":
        raise ConfigError(f"{option} {str(path)!r} is a directory; give a file path")
    if kind not in (None, "regular file"):
        target = f" (to {os.readlink(path)!r})" if kind == "symbolic link" else ""
        raise ConfigError(f"{option} {str(path)!r} is a {kind}{target}; only regular files are overwritten, even with --force;"
                          f" give another path, or '-' for standard output")


def check_output(path, force: bool, option: str) -> Path:
    """Fail before any work is done if ``path`` cannot be written: it exists (without ``force``), it is a
    folder, a link, a device or a FIFO (even with ``force``), or its folder does not exist. ``option``
    names the command-line option in the message."""
    p = Path(path)
    check_replaceable(p, option)
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
        check_replaceable(p, option)  # again: it may have changed while the text was rendered
        os.replace(tmp, p)
    except (OSError, ConfigError) as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot write {option} {str(p)!r}: {exc.strerror}") from None
    return p


def write_json(path, doc, *, force: bool, option: str = "--json", indent: int = 1) -> Path | None:
    return write_output(path, dumps_json(doc, indent=indent), force=force, option=option)
