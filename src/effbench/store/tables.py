"""Load external CSV tables of models (published numbers, another harness's results).

:func:`load_tables` reads one or more CSV files, joins them on a key column (inner join),
parses numbers written with thousands separators (``"1,014.45"``), and returns the keys, a
float matrix of the requested columns and a :class:`LoadReport` that names every dropped row
and why. Standard library ``csv`` only.

Rules (all reported, none silent):

- a row whose key is empty (or does not match ``key_pattern``) is dropped;
- duplicate keys inside one file: ``duplicates="drop"`` (default) drops every row with that
  key, since which one is meant is unknown; ``duplicates="first"`` keeps the first and drops
  the others;
- a key absent from another file is dropped by the inner join;
- a row with an empty or missing-marker value (``""``, ``NA``, ``N/A``, ``NaN``, ``null``,
  ``None``, ``-``) in a requested column is dropped.

Errors are one line: :class:`DataError` for a missing key column, a non-numeric value (file,
row key, column, value), a join that matches nothing; :class:`ConfigError` for an unknown
column (the available ones are listed) or bad options. A requested column present in several
files is taken from the first file (in the order given) that has it; the report notes it.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.records import DroppedRow, LoadReport
from effbench.validation import Options, check

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?$")
DUPLICATES = ("drop", "first")


def parse_number(text: str) -> float | None:
    """``"1,014.45"`` -> 1014.45; missing markers -> None; infinity and anything else non-numeric -> ValueError."""
    s = text.strip()
    if s.lower() in MISSING_MARKERS:
        return None
    if "," in s:
        if not _THOUSANDS.match(s):
            raise ValueError(s)
        s = s.replace(",", "")
    value = float(s)  # raises ValueError
    if np.isnan(value):
        return None
    if np.isinf(value):  # "inf", or beyond the largest float (1e400): no analysis can rank it
        raise ValueError(s)
    return value


def read_csv(path: str | os.PathLike) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file (UTF-8, optional BOM); short rows are padded with ''."""
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{name}: empty file, expected a header row")
            header = [h.strip() for h in header]
            rows = []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    row = row + [""] * (len(header) - len(row))
                rows.append(row)
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{name}: not a valid CSV file ({exc})") from None
    return header, rows


def load_tables(
    paths: Sequence[str | os.PathLike],
    key: str,
    columns: Sequence[str],
    *,
    duplicates: str = "drop",
    key_pattern: str | None = None,
) -> tuple[list[str], np.ndarray, LoadReport]:
    """Join CSV files on ``key`` and return ``(keys, matrix, report)``.

    ``keys``: the kept keys, in the order of the first file. ``matrix``: float array
    ``(len(keys), len(columns))``, columns in the order asked. ``report``: a :class:`LoadReport`.

    ``key_pattern``: optional regular expression applied to every key (``re.search``); the key
    becomes its first group (or the whole match), e.g. ``r"^[^.]+"`` turns timm's
    ``resnet50.a1_in1k`` into the architecture ``resnet50``. Rows that do not match are dropped.
    """
    pattern = _checked_options(paths, columns, duplicates, key_pattern)
    names = [os.fspath(p) for p in paths]
    tables = [read_csv(p) for p in names]
    report = LoadReport(files=names, rows_read={n: len(t[1]) for n, t in zip(names, tables)})
    _find_column_sources(names, tables, key, columns, report)
    per_file = [_index_rows(name, header, rows, key, pattern, duplicates, report) for name, (header, rows) in zip(names, tables)]
    common = _inner_join(names, per_file, key, report)
    keys, values = _joined_values(names, tables, per_file, common, columns, report)
    if not keys:
        raise DataError(
            f"no row left after dropping {len(report.dropped)} rows (missing values, duplicates or unmatched keys)"
        )
    report.rows_kept = len(keys)
    return keys, np.asarray(values, dtype=float), report


def _checked_options(paths, columns, duplicates, key_pattern):
    """Refuse empty paths or columns and an unknown duplicates rule; returns the compiled key pattern (or None)."""
    if not paths:
        raise ConfigError("at least one CSV file is needed, got none")
    check("duplicates", duplicates, Options(DUPLICATES))
    if not columns:
        raise ConfigError("at least one column is needed, got none")
    if key_pattern is None:
        return None
    try:
        return re.compile(key_pattern)
    except re.error as exc:
        raise ConfigError(f"key pattern {key_pattern!r} is not a valid regular expression: {exc}") from None


def _find_column_sources(names, tables, key, columns, report: LoadReport) -> None:
    """Every file has the key column; each requested column is taken from the first file that has it."""
    for name, (header, _) in zip(names, tables):
        if key not in header:
            raise DataError(f"{name}: no key column {key!r}; columns: {', '.join(header)}")
    for col in columns:
        holders = [n for n, (header, _) in zip(names, tables) if col in header and col != key]
        if not holders:
            available = sorted({h for header, _ in tables for h in header if h != key})
            raise ConfigError(f"unknown column {col!r}; available: {', '.join(available)}")
        report.column_sources[col] = holders[0]
        if len(holders) > 1:
            report.notes.append(f"column {col!r} is in {', '.join(holders)}; taken from {holders[0]}")


def _index_rows(name, header, rows, key, pattern, duplicates, report: LoadReport) -> dict[str, list[str]]:
    """key -> row of one file, in file order; empty keys, pattern misses and duplicates dropped (and reported)."""
    ki = header.index(key)
    by_key: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for row in rows:
        k = _row_key(row[ki].strip(), pattern, name, key, report)
        if k is None:
            continue
        counts[k] = counts.get(k, 0) + 1
        by_key.setdefault(k, row)
    for k, c in counts.items():
        if c > 1:
            if duplicates == "drop":
                del by_key[k]
                report.dropped.append(DroppedRow(k, name, f"duplicate key ({c} rows in this file; all dropped)"))
            else:
                report.dropped.append(DroppedRow(k, name, f"duplicate key ({c} rows in this file; kept the first)"))
    return by_key


def _row_key(raw: str, pattern, name: str, key: str, report: LoadReport) -> str | None:
    """The key of a row (through ``pattern`` when given), or None when the row is dropped (and reported)."""
    k = raw
    if pattern is not None and raw:
        m = pattern.search(raw)
        if m is None:
            report.dropped.append(DroppedRow(raw, name, f"key does not match pattern {pattern.pattern!r}"))
            return None
        k = m.group(1) if m.groups() else m.group(0)
    if not k:
        report.dropped.append(DroppedRow("", name, f"empty key column {key!r}"))
        return None
    return k


def _inner_join(names, per_file, key, report: LoadReport) -> set[str]:
    """The keys every file has; each other key is reported once, by the first file that has it.
    DataError when several files share no key."""
    common = set(per_file[0])
    for by_key in per_file[1:]:
        common &= set(by_key)
    if len(names) > 1 and not common:
        examples = [f"{os.path.basename(name)} (e.g. {next(iter(by_key), None)!r})" for name, by_key in zip(names, per_file)]
        raise DataError(
            f"the join on key {key!r} matched no row between {' and '.join(examples)}; "
            f"the key values must be equal (see --key-pattern)"
        )
    for fi, (name, by_key) in enumerate(zip(names, per_file)):
        for k in by_key:
            if k not in common:
                missing_in = [os.path.basename(n) for n, other in zip(names, per_file) if k not in other]
                if fi == min(i for i, other in enumerate(per_file) if k in other):
                    report.dropped.append(DroppedRow(k, name, f"no matching key in {', '.join(missing_in)}"))
    return common


def _joined_values(names, tables, per_file, common, columns, report: LoadReport) -> tuple[list[str], list[list[float]]]:
    """The joined keys in the first file's order and their values; a row with a missing value is dropped
    (and reported), a value that is not a number is a DataError."""
    header_index = [{h: i for i, h in enumerate(header)} for header, _ in tables]
    file_index = {n: i for i, n in enumerate(names)}
    keys: list[str] = []
    values: list[list[float]] = []
    for k in per_file[0]:
        if k not in common:
            continue
        row_vals: list[float] = []
        for col in columns:
            fi = file_index[report.column_sources[col]]
            cell = per_file[fi][k][header_index[fi][col]]
            try:
                v = parse_number(cell)
            except ValueError:
                raise DataError(f"{names[fi]}: row {k!r}, column {col!r}: {cell.strip()!r} is not a number") from None
            if v is None:
                reason = f"missing value in column {col!r} ({os.path.basename(names[fi])})"
                report.dropped.append(DroppedRow(k, report.column_sources[col], reason))
                break
            row_vals.append(v)
        else:
            keys.append(k)
            values.append(row_vals)
    return keys, values
