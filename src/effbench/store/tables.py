"""Load external CSV tables of models (published numbers, another harness's results).

:func:`load_tables` reads one or more CSV files, joins them on a key column (inner join),
parses numbers written with thousands separators (``"1,014.45"``), and returns the keys, a
float matrix of the requested columns and a :class:`LoadReport` that names every dropped row
and why.

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

Two readers give the same result (a hypothesis test compares them on random messy tables): the
reference one reads rows with the standard library ``csv`` and parses every cell with
:func:`parse_number`; the fast one (the default) reads whole columns with numpy's C ``loadtxt``,
casts them to floats at once (numpy's string-to-float cast is Python's ``float``), and parses
with :func:`parse_number` only the cells the cast refuses (found by halving) and those with a
comma. A file the fast reader could read differently (a quote, a lone carriage return, NUL, a
blank line, an empty key, a short row) is read by the reference one. Memory: the keys as one
numpy string array (the fast reader) or Python strings (the reference one) and a float array,
not a Python object per cell (docs/pareto.md has the figures).
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
    fast: bool = True,
) -> tuple[list[str], np.ndarray, LoadReport]:
    """Join CSV files on ``key`` and return ``(keys, matrix, report)``.

    ``keys``: the kept keys, in the order of the first file (a numpy string array when one clean
    file is read whole, else a list of str). ``matrix``: float array
    ``(len(keys), len(columns))``, columns in the order asked. ``report``: a :class:`LoadReport`.

    ``key_pattern``: optional regular expression applied to every key (``re.search``); the key
    becomes its first group (or the whole match), e.g. ``r"^[^.]+"`` turns timm's
    ``resnet50.a1_in1k`` into the architecture ``resnet50``. Rows that do not match are dropped.

    ``fast``: False reads every file with the reference reader (standard-library ``csv``, one
    :func:`parse_number` per cell); the result is the same, only slower.
    """
    pattern = _checked_options(paths, columns, duplicates, key_pattern)
    names = [os.fspath(p) for p in paths]
    tables = [_read_table(n, columns, key, fast) for n in names]
    report = LoadReport(files=names, rows_read={t.name: t.n_rows for t in tables})
    _find_column_sources(names, tables, key, columns, report)
    per_file = [_index_rows(t, key, pattern, duplicates, report) for t in tables]
    if len(tables) > 1:
        per_file = [dict(zip(t.key_list(), range(t.n_rows))) if p is None else p for t, p in zip(tables, per_file)]
    common = _inner_join(names, per_file, key, report)
    keys, values = _joined_values(names, tables, per_file, common, columns, report)
    if not len(keys):
        raise DataError(
            f"no row left after dropping {len(report.dropped)} rows (missing values, duplicates or unmatched keys)"
        )
    report.rows_kept = len(keys)
    return keys, values, report


# --------------------------------------------------------------------------- readers
_OK, _MISSING, _BAD = 0, 1, 2  # state of a cell


class _Table:
    """One file, column-wise: its header, the stripped key of every row, and the requested
    columns parsed on request (values, state per cell, and the text of a cell for a message)."""

    def __init__(self, name: str, header: list[str], keys: list[str]):
        self.name, self.header, self.keys = name, header, keys
        self.n_rows = len(keys)
        self.index = {h: i for i, h in enumerate(header)}  # the last of equal names, as before
        self.unique: bool | None = None  # every key distinct and not empty (None: not checked yet)

    def key_list(self) -> list[str]:
        """The keys as Python strings (for the slow paths: joins, patterns, duplicates)."""
        return self.keys.tolist() if isinstance(self.keys, np.ndarray) else self.keys

    def keys_unique(self) -> bool:
        if self.unique is None:
            self.unique = all(len(k) for k in self.keys) and len(set(self.keys)) == len(self.keys)
        return self.unique

    def block(self, columns) -> np.ndarray | None:
        """The float matrix of ``columns`` as read, when the reader has it whole (no cell to check)."""
        return None

    def column(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, state)`` of column ``col`` for every row; state: _OK, _MISSING or _BAD."""
        raise NotImplementedError

    def cell(self, col: str, row: int) -> str:
        raise NotImplementedError


class _CsvTable(_Table):
    """The reference reader: standard-library ``csv`` rows, :func:`parse_number` per cell."""

    def __init__(self, name: str, header: list[str], rows: list[list[str]], key: str):
        ki = header.index(key) if key in header else None
        super().__init__(name, header, [row[ki].strip() for row in rows] if ki is not None else [""] * len(rows))
        self.rows = rows

    def column(self, col):
        ci = self.index[col]
        return _parse_cells([row[ci] for row in self.rows])

    def cell(self, col, row):
        return self.rows[row][self.index[col]]


class _ColumnTable(_Table):
    """The fast reader: columns read by numpy's ``loadtxt`` (C), converted to floats at once."""

    def __init__(self, name: str, header: list[str], keys: list[str], unique: bool,
                 wanted: list[str], block: np.ndarray | None):
        super().__init__(name, header, keys)
        self.unique = unique
        self._wanted, self._block = wanted, block
        # column -> float array read whole by loadtxt (every cell a float): views of the block
        self.floats = {} if block is None else {c: block[:, j] for j, c in enumerate(wanted)}
        self._text: dict[str, np.ndarray] = {}  # column -> its cells as text, read when needed

    def block(self, columns):
        if self._block is None or list(columns) != self._wanted:
            return None
        return self._block

    def _strings(self, col: str) -> np.ndarray:
        if col not in self._text:
            self._text[col] = _loadtxt(self.name, self.index[col], str)
        return self._text[col]

    def column(self, col):
        if col in self.floats:
            values = self.floats[col]
            state = np.where(np.isnan(values), _MISSING, np.where(np.isinf(values), _BAD, _OK)).astype(np.int8)
            return values, state
        return _parse_cells(self._strings(col))

    def cell(self, col, row):
        return str(self._strings(col)[row])


def _parse_cells(cells) -> tuple[np.ndarray, np.ndarray]:
    """Values and states of a sequence of cell texts, as :func:`parse_number` gives them cell by cell.

    numpy converts the cells without a comma at once (its string-to-float cast is Python's
    ``float``); the cells it refuses are found by halving, and only they and the cells with a
    comma go through :func:`parse_number`."""
    cells = np.asarray(cells, dtype=str).reshape(-1)
    n = cells.size
    values = np.full(n, np.nan)
    state = np.zeros(n, dtype=np.int8)
    slow = np.strings.find(cells, ",") >= 0
    _cast(cells, np.flatnonzero(~slow), values, slow)
    for i in np.flatnonzero(slow):
        try:
            v = parse_number(str(cells[i]))
        except ValueError:
            state[i] = _BAD
            continue
        values[i] = np.nan if v is None else v
    plain = np.flatnonzero(~slow)
    state[plain[np.isinf(values[plain])]] = _BAD  # "inf", "1e400": refused, as parse_number does
    state[(state != _BAD) & np.isnan(values)] = _MISSING  # "nan" and the missing markers
    return values, state


def _cast(cells: np.ndarray, idx: np.ndarray, values: np.ndarray, slow: np.ndarray) -> None:
    """``values[idx]`` = the cells as floats; the cells numpy refuses are marked ``slow`` (found by halving)."""
    if idx.size == 0:
        return
    try:
        values[idx] = cells[idx].astype(float)
    except ValueError:
        if idx.size == 1:
            slow[idx] = True
        else:
            half = idx.size // 2
            _cast(cells, idx[:half], values, slow)
            _cast(cells, idx[half:], values, slow)


def _loadtxt(name: str, usecols, dtype):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "line 2 contained no data": the reference reader reads the file
        return np.loadtxt(name, delimiter=",", dtype=dtype, usecols=usecols, skiprows=1, comments=None,
                          quotechar=None, encoding="utf-8-sig", ndmin=2 if isinstance(usecols, tuple) else 1)


def _fast_table(name: str, columns: Sequence[str], key: str) -> _ColumnTable | None:
    """The file read column-wise, or None when the fast reader could differ from ``csv``."""
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if (not data or b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n")
            or not data.rstrip(b"\r\n").count(b"\n")):
        return None
    try:
        first = data.split(b"\n", 1)[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    del data
    header = [h.strip() for h in next(csv.reader([first]), [])]
    if key not in header:
        return None
    index = {h: i for i, h in enumerate(header)}
    try:
        # the keys stay one numpy string array (4 bytes a character), not a million Python strings
        keys = np.strings.strip(_loadtxt(name, header.index(key), str))  # the characters str.strip strips
        if not keys.size or not np.all(np.strings.str_len(keys)):  # an empty key (or a blank row): the reference reader reports it
            return None
        ordered = np.sort(keys)  # checked now, before the floats are in memory (np.unique would hold two copies)
        unique = not np.any(ordered[1:] == ordered[:-1])
        del ordered
        wanted = [c for c in dict.fromkeys(columns) if c in index and c != key]
        block = None
        if wanted:
            try:
                block = _loadtxt(name, tuple(index[c] for c in wanted), float)
                if block.shape[0] != len(keys):
                    return None
            except ValueError:  # a cell that is not a plain number: those columns are parsed cell-aware
                block = None
        table = _ColumnTable(name, header, keys, unique, wanted, block)
        wanted = [] if block is not None else wanted
        for c in wanted:
            if table._strings(c).size != len(keys):
                return None
        return table
    except (ValueError, UnicodeDecodeError, OSError, Warning):  # e.g. a short row, a blank line: the reference reader decides
        return None


def _read_table(name: str, columns: Sequence[str], key: str, fast: bool) -> _Table:
    table = _fast_table(name, columns, key) if fast else None
    if table is None:
        header, rows = read_csv(name)
        table = _CsvTable(name, header, rows, key)
    return table


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
    for t in tables:
        if key not in t.header:
            raise DataError(f"{t.name}: no key column {key!r}; columns: {', '.join(t.header)}")
    for col in columns:
        holders = [t.name for t in tables if col in t.header and col != key]
        if not holders:
            available = sorted({h for t in tables for h in t.header if h != key})
            long = {"metric", "value", "unit", "provenance"} <= {h for t in tables for h in t.header}
            hint = ("; this is a long export (one value per row): write one row per candidate with"
                    " 'effbench export RUN --format csv --wide'") if long else ""
            raise ConfigError(f"unknown column {col!r}; available: {', '.join(available)}{hint}")
        report.column_sources[col] = holders[0]
        if len(holders) > 1:
            report.notes.append(f"column {col!r} is in {', '.join(holders)}; taken from {holders[0]}")


def _index_rows(table: _Table, key, pattern, duplicates, report: LoadReport) -> dict[str, int] | None:
    """key -> row number of one file, in file order; empty keys, pattern misses and duplicates
    dropped (and reported). None: every row is kept as it is (no pattern, keys unique and not empty)."""
    if pattern is None and table.keys_unique():
        return None  # the usual case: no dict of a million keys
    name = table.name
    by_key: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r, raw in enumerate(table.key_list()):
        k = _row_key(raw, pattern, name, key, report)
        if k is None:
            continue
        counts[k] = counts.get(k, 0) + 1
        by_key.setdefault(k, r)
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


def _inner_join(names, per_file, key, report: LoadReport) -> set[str] | None:
    """The keys every file has (None: one file, every key); each other key is reported once, by the
    first file that has it. DataError when several files share no key."""
    if len(per_file) == 1:
        return None
    common = set(per_file[0])
    for by_key in per_file[1:]:
        common &= set(by_key)
    if not common:
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


def _joined_values(names, tables, per_file, common, columns, report: LoadReport) -> tuple[list[str], np.ndarray]:
    """The joined keys in the first file's order and their values; a row with a missing value is dropped
    (and reported), a value that is not a number is a DataError.

    Column-wise: each row's first cell (in the order asked) that is missing or not a number decides,
    as a cell-by-cell scan of the row would."""
    file_index = {n: i for i, n in enumerate(names)}
    if per_file[0] is None:  # one file, every row kept in order
        keys, rows = tables[0].keys, [None]
    else:
        keys = [k for k in per_file[0] if common is None or k in common]
        rows = [np.fromiter((by_key[k] for k in keys), dtype=np.int64, count=len(keys)) for by_key in per_file]
    n, d = len(keys), len(columns)
    if rows[0] is None:
        whole = tables[0].block(columns)
        if whole is not None:  # one clean file, the columns as read: no copy, only the non-finite to check
            if np.isfinite(whole).all():
                return keys, whole
    values = np.empty((n, d))
    state = np.zeros((n, d), dtype=np.int8)
    parsed: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
    for j, col in enumerate(columns):
        fi = file_index[report.column_sources[col]]
        if (fi, col) not in parsed:
            parsed[fi, col] = tables[fi].column(col)
        v, st = parsed[fi, col]
        values[:, j] = v if rows[fi] is None else v[rows[fi]]
        state[:, j] = st if rows[fi] is None else st[rows[fi]]
    del parsed
    bad_rows = np.flatnonzero(state.any(axis=1))
    first = state[bad_rows].astype(bool).argmax(axis=1) if bad_rows.size else bad_rows
    for r, j in zip(bad_rows.tolist(), first.tolist()):
        col = columns[j]
        fi = file_index[report.column_sources[col]]
        if state[r, j] == _BAD:
            row = r if rows[fi] is None else int(rows[fi][r])
            cell = tables[fi].cell(col, row)
            raise DataError(f"{names[fi]}: row {str(keys[r])!r}, column {col!r}: {cell.strip()!r} is not a number")
    kept = np.ones(n, dtype=bool)
    for r, j in zip(bad_rows.tolist(), first.tolist()):
        col = columns[j]
        fi = file_index[report.column_sources[col]]
        reason = f"missing value in column {col!r} ({os.path.basename(names[fi])})"
        report.dropped.append(DroppedRow(str(keys[r]), report.column_sources[col], reason))
        kept[r] = False
    if bad_rows.size:
        keys = keys[kept] if isinstance(keys, np.ndarray) else [k for k, ok in zip(keys, kept) if ok]
        values = values[kept]
    return keys, values


def load_columns(path: str | os.PathLike, columns: Sequence[str], *,
                 label: str | None = None) -> tuple[list[str], np.ndarray, LoadReport]:
    """One CSV file, no key and no join: ``(labels, matrix, report)`` of the requested columns.

    ``labels``: each kept row's ``label`` column, or ``"row N"`` (N counts data rows from 1) without
    one. ``matrix``: float array ``(len(labels), len(columns))``. Cells are parsed as
    :func:`load_tables` parses them (thousands separators, missing markers); a row with a missing
    value is dropped and reported (the first missing column names the reason), a cell that is not a
    number is a :class:`DataError`, an unknown column a :class:`ConfigError` listing the available
    ones. No row left is not an error here: the caller says how many rows it needs.
    """
    name = os.fspath(path)
    if not columns:
        raise ConfigError("at least one column is needed, got none")
    header, rows = read_csv(name)
    index = {h: i for i, h in enumerate(header)}
    for col in list(columns) + ([label] if label is not None else []):
        if col not in index:
            raise ConfigError(f"unknown column {col!r}; available: {', '.join(header)}")
    labels = ([row[index[label]].strip() for row in rows] if label is not None
              else [f"row {i + 1}" for i in range(len(rows))])
    report = LoadReport(files=[name], rows_read={name: len(rows)})
    values = np.empty((len(rows), len(columns)))
    state = np.zeros((len(rows), len(columns)), dtype=np.int8)
    for j, col in enumerate(columns):
        values[:, j], state[:, j] = _parse_cells([row[index[col]] for row in rows]) if rows else ([], [])
    kept = np.ones(len(rows), dtype=bool)
    for r in np.flatnonzero(state.any(axis=1)).tolist():
        j = int(state[r].astype(bool).argmax())
        if state[r, j] == _BAD:
            raise DataError(f"{name}: {labels[r]!r}, column {columns[j]!r}: "
                            f"{rows[r][index[columns[j]]].strip()!r} is not a number")
        report.dropped.append(DroppedRow(labels[r], name, f"missing value in column {columns[j]!r}"))
        kept[r] = False
    report.rows_kept = int(kept.sum())
    return [lab for lab, ok in zip(labels, kept) if ok], values[kept], report
