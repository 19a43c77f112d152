"""Reading a CSV file as a stream of records, each with its physical line number and the byte
offset just after it, so an import can report bad lines exactly and resume where it stopped.

The `csv` module does the parsing (quoted fields, doubled quotes, newlines inside quotes). What
it cannot do alone is recover from a broken quote: an opening quote that never closes would
swallow every following line into one field. So a record may span at most `MAX_LINES` lines and
a multi-line record must have the header's number of fields; otherwise its first line is
reported as malformed and reading starts again on the line after it. No line is lost: the
lines read ahead are read again.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINES = 50  # a quoted field with more line breaks than this is taken for a broken quote
csv.field_size_limit(16 * 1024 * 1024)


@dataclass(slots=True)
class Record:
    line: int  # physical line number (1-based) of the record's first line
    end: int  # byte offset just after the record
    end_line: int  # physical line number of its last line
    values: list[str] | None  # None: unreadable, see `error`
    error: str = ""
    raw: str = ""  # the record's text, for the error file

    @property
    def blank(self) -> bool:
        return self.values is not None and not any(v.strip() for v in self.values)


class _TooLong(Exception):
    pass


class CsvStream:
    """Records of a CSV file from byte `offset` (at physical line `line` + 1).

    `width` is the header's number of fields (None while reading the header itself)."""

    def __init__(self, file: BinaryIO, *, offset: int = 0, line: int = 0, width: int | None = None):
        file.seek(offset)
        self.file, self.offset, self.line, self.width = file, offset, line, width
        self._again: deque[tuple[int, int, str, bool]] = deque()  # lines to read again
        self._current: list[tuple[int, int, str, bool]] = []  # (line, end, text, decoded ok)

    def _lines(self) -> Iterator[str]:
        again, current = self._again, self._current
        readline = self.file.readline
        while True:
            if again:
                item = again.popleft()
            else:
                data = readline()
                if not data:
                    return
                start = self.offset
                self.offset += len(data)
                self.line += 1
                ok = True
                try:
                    text = data.decode("utf-8-sig" if start == 0 else "utf-8")
                except UnicodeDecodeError:
                    text, ok = data.decode("utf-8", "replace"), False
                item = (self.line, self.offset, text, ok)
            current.append(item)
            if len(current) > MAX_LINES:
                raise _TooLong
            yield item[2]

    def __iter__(self) -> Iterator[Record]:
        while True:
            reader = csv.reader(self._lines(), strict=True)
            try:
                for values in reader:
                    yield self._record(values)
                return
            except _TooLong:
                yield self._broken("a quote opened here is never closed")
            except csv.Error as exc:
                if not self._current:
                    return
                if len(self._current) > 1 or "end of data" in str(exc):
                    yield self._broken("a quote opened here is never closed")
                else:
                    yield self._broken(f"malformed quotes ({exc})")

    def _record(self, values: list[str]) -> Record:
        lines = self._current[:]
        self._current.clear()
        first, last = lines[0], lines[-1]
        raw = "".join(item[2] for item in lines) if len(lines) > 1 else first[2]
        if len(lines) > 1 and self.width is not None and len(values) != self.width:
            # A quote that closes lines later, in the wrong place: the first line is broken.
            self._current.extend(lines)
            return self._broken("a quote opened here is never closed")
        if not all(item[3] for item in lines):
            return Record(first[0], last[1], last[0], None, "not UTF-8 text", raw)
        return Record(first[0], last[1], last[0], values, "", raw)

    def _broken(self, reason: str) -> Record:
        """Report the current record's first line; read the lines after it again."""
        lines = self._current[:]
        self._current.clear()
        first = lines[0]
        self._again.extendleft(reversed(lines[1:]))
        return Record(first[0], first[1], first[0], None, reason, first[2])
