"""Importing a large exported run in bounded memory: the document is read as a stream.

:func:`import_json` is what ``effbench import`` calls. A file under :data:`STREAM_MIN_BYTES` is read
whole (:func:`effbench.store.export.load_json`). A larger one is read a chunk at a time: its
top-level keys in order, each ``metrics`` and ``samples`` item parsed, checked against the JSON
Schema of its kind and turned into a row as it arrives, and written to the store in the same
transaction as the run and its candidates (:meth:`effbench.store.db.Store.import_stream`), so the
memory held is one chunk, one item and the candidates, whatever the file's size. Streaming needs
what effbench writes: ``format``, ``schema_version`` 2, ``run`` and ``candidates`` before the first
of ``metrics`` and ``samples``. Any other file (version 1, keys in another order) is read whole,
with the same checks. Either way an import is all or nothing, and a refused file is one line.
"""

from __future__ import annotations

import codecs
import json
import os
import stat
from pathlib import Path

import numpy as np

from effbench.errors import DataError
from effbench.records import Metric, RunRecord, SampleSet
from effbench.store import export as X

__all__ = ["STREAM_MIN_BYTES", "import_json"]

STREAM_MIN_BYTES = 8 << 20
"""Files at least this large (8 MiB) are streamed; smaller ones are read whole."""
_CHUNK = 1 << 20
_STREAMED = ("metrics", "samples")
_HEADER = ("format", "schema_version", "run", "candidates")
_NUMBER_CHARS = frozenset("0123456789+-.eE")


def import_json(path, open_store) -> tuple[str, str]:
    """Import the exported run at ``path`` (any schema version, any size) into the store that
    ``open_store()`` opens, once the file's header (or the whole file, when it is read whole) has
    passed its checks: a refused file creates no database. Returns (run id, the store's path)."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size < STREAM_MIN_BYTES:
        return _import_whole(path, open_store)
    with open(path, "rb") as fh:
        stream = _RunStream(_Reader(fh, str(path)), str(path))
        if not stream.open():
            return _import_whole(path, open_store)
        with open_store() as store:
            return store.import_stream(stream.header, stream.items()), str(store.path)


def _import_whole(path, open_store) -> tuple[str, str]:
    run = X.load_json(path)
    with open_store() as store:
        return store.import_run(run), str(store.path)


class _Reader:
    """JSON values read one at a time from a file, a chunk in memory at a time; every error is the
    whole-file reader's DataError line (positions are of the whole file)."""

    def __init__(self, fh, source: str):
        self.fh, self.source = fh, source
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.parser = json.JSONDecoder(parse_constant=X._no_constant)
        self.buf, self.pos, self.eof = "", 0, False
        self.bytes_read = 0
        self.lines_before = 0  # newlines in the text already let go
        self.columns_before = 0  # characters of the current line already let go

    def _fill(self, at_least: int | None = None) -> bool:
        """Append at least ``at_least`` (default: a chunk) more characters (fewer at the end); False at
        the end of the file."""
        at_least = at_least or _CHUNK
        if self.eof:
            return False
        newlines = self.buf.count("\n", 0, self.pos)
        self.lines_before += newlines
        last = self.buf.rfind("\n", 0, self.pos)
        self.columns_before = self.pos - last - 1 if newlines else self.columns_before + self.pos
        self.buf = self.buf[self.pos:]
        self.pos = 0
        added = 0
        while added < at_least:
            data = self.fh.read(max(at_least, _CHUNK))
            try:
                text = self.decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise DataError(f"{self.source} is not a JSON text file: byte {self.bytes_read + exc.start} is not UTF-8"
                                f" (binary data?)") from None
            self.bytes_read += len(data)
            self.buf += text
            added += len(text)
            if not data:
                self.eof = True
                return added > 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in " \t\n\r":
                self.pos += 1
            if self.pos < n:
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            self._invalid(f"Expecting {what}")
        self.pos += 1

    def value(self):
        """The next JSON value (after white space), parsed strictly as the whole-file reader does."""
        self.peek()
        while True:
            try:
                obj, end = self.parser.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof and (exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated")):
                    self._fill(len(self.buf))  # the value runs past the chunk: read as much again
                    continue
                self._invalid(exc.msg, exc.pos)
            except X._BadNumber as exc:
                raise DataError(f"{self.source}: {exc}") from None
            except RecursionError:
                raise DataError(f"{self.source}: the JSON is nested too deeply to read (effbench exports nest a few levels)") from None
            except ValueError as exc:
                raise DataError(f"{self.source}: a value cannot be read ({' '.join(str(exc).split())[:120]})") from None
            if not self.eof and self._number_may_go_on(obj, end):
                self._fill()
                continue
            if X._SURROGATE.search(self.buf, self.pos, end):
                X.check_unicode(obj, self.source)
            self.pos = end
            return obj

    def _number_may_go_on(self, obj, end: int) -> bool:
        """A number read up to the end of the chunk (``12`` of ``1234``, ``-0.25`` of ``-0.25e-3``) may go
        on in the next one: only the characters after it tell."""
        if isinstance(obj, bool) or not isinstance(obj, (int, float)):
            return end == len(self.buf)
        n = len(self.buf)
        while end < n and self.buf[end] in _NUMBER_CHARS:
            end += 1
        return end == n

    def _invalid(self, msg: str, pos: int | None = None):
        pos = self.pos if pos is None else pos
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        last = self.buf.rfind("\n", 0, pos)
        column = pos - last if last >= 0 else self.columns_before + pos + 1
        raise DataError(f"{self.source} is not valid JSON (line {line}, column {column}: {msg})") from None


class _RunStream:
    """The top-level object of an export, key by key: the header first, then the items."""

    def __init__(self, reader: _Reader, source: str):
        self.reader, self.source = reader, source
        self.doc: dict = {}
        self.header: RunRecord | None = None
        self.keys: set[str] = set()
        self.first: str | None = None  # the array the header stopped at

    def _key(self) -> str | None:
        """The next key of the top-level object (its ':' read), or None at its closing brace."""
        r = self.reader
        if r.peek() == "}":
            r.pos += 1
            return None
        if self.doc or self.first:
            r.expect(",", "',' delimiter")
        if r.peek() != '"':
            r._invalid("Expecting property name enclosed in double quotes")
        key = r.value()
        r.expect(":", "':' delimiter")
        return key

    def open(self) -> bool:
        """Read the keys up to the first of ``metrics`` and ``samples``; False when this file cannot be
        streamed (not an object, version 1, the header after the arrays): it is then read whole."""
        r = self.reader
        if r.peek() != "{":
            return False
        r.pos += 1
        while True:
            key = self._key()
            if key is None:
                return False  # no array to stream: small enough to read whole
            if key in _STREAMED:
                if (r.peek() != "[" or not all(k in self.doc for k in _HEADER)
                        or self.doc.get("schema_version") != X.JSON_SCHEMA_VERSION):
                    return False  # read whole: the whole-file reader says what is wrong, if anything
                self.first = key
                break
            self.doc[key] = r.value()
        if self.doc.get("format") != X.FORMAT:
            raise DataError(f"{self.source}: not an effbench run export (expected \"format\": \"{X.FORMAT}\")")
        X._validate({**self.doc, "metrics": [], "samples": []}, X.JSON_SCHEMA_VERSION, self.source)
        self.header = X._records({**self.doc, "metrics": [], "samples": []}, self.source)
        self.keys = {c.key for c in self.header.candidates}
        return True

    def items(self):
        """``("metric", row fields)`` and ``("sample", SampleSet)`` in file order, each checked; the rest
        of the document is read and checked after the last (so an import that ends reading it is whole)."""
        r, seen = self.reader, set()
        key = self.first
        while key is not None:
            if key in _STREAMED and key not in seen and r.peek() == "[":
                seen.add(key)
                r.pos += 1
                i = 0
                while r.peek() != "]":
                    if i:
                        r.expect(",", "',' delimiter")
                    yield self._item(key, i, r.value())
                    i += 1
                r.pos += 1
            elif key in _STREAMED or key in self.doc:  # a key twice (a whole-file read would keep the last)
                X._validate({**self.doc, "metrics": [], "samples": [], key: r.value()}, X.JSON_SCHEMA_VERSION, self.source)
                raise DataError(f"{self.source}: {key}: the key appears twice in the document")
            else:
                self.doc[key] = r.value()
            key = self._key()
        if r.peek():
            r._invalid("Extra data")
        missing = [k for k in _STREAMED if k not in seen]
        if missing:
            raise DataError(f"{self.source}: (the document): {missing[0]!r} is a required property")
        X._validate({**self.doc, "metrics": [], "samples": []}, X.JSON_SCHEMA_VERSION, self.source)

    def _item(self, kind: str, i: int, item):
        """One item of ``metrics`` or ``samples``, checked as the whole-file reader checks it."""
        X._validate_item(item, kind, i, self.source)

        def fail(path, message):
            raise DataError(f"{self.source}: {path}: {message}")

        where = f"{kind}[{i}]"
        if item["candidate"] not in self.keys:
            fail(f"{where}.candidate", f"{X._shown(item['candidate'])} is not among the candidates ({X._listed(self.keys)})")
        if kind == "metrics":
            detail = item.get("detail")
            if detail:
                X._shallow(detail, f"{where}.detail", fail)
            return "metric", Metric(candidate=item["candidate"], name=item["name"], value=item.get("value"), unit=item["unit"],
                                    provenance=item["provenance"], batch_size=int(item.get("batch_size", 0)), detail=detail or {})
        X._shallow(item.get("meta"), f"{where}.meta", fail)
        return "sample", SampleSet(candidate=item["candidate"], batch_size=int(item["batch_size"]), kind=item["kind"],
                                   unit=item["unit"], values=np.asarray(item["values"], dtype=float), meta=item.get("meta") or {})

