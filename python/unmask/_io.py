"""Reading numeric tables from text files (private; used by the command line and the loaders).

:func:`read_table` turns a comma-separated file into ``(header, values)`` with a strict number
syntax, streaming: the values are parsed by numpy's C reader straight into one float64 array
(no per-value Python objects), after a size and memory check. A malformed file is diagnosed
by a second, line-by-line pass that keeps nothing, so the message can name the line and the
column of the first problem (a ragged row, a value that is not a number).
"""

from __future__ import annotations

import csv
import math
import os
import re
from array import array
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unmask._validation import check_memory, format_bytes

__all__ = ["MAX_TABLE_BYTES", "TableError", "parse_number", "read_table"]

#: Largest file :func:`read_table` reads by default (1 GiB of text, up to 4 GiB of float64).
MAX_TABLE_BYTES = 1 << 30

#: The number syntax accepted: an optional sign, decimal digits with an optional point, an
#: optional exponent. No underscores (``1_0``), no hexadecimal, no non-ASCII digits, and no
#: ``nan``/``inf`` (a table of measurements has no use for them; they are refused by name).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
#: Bytes a numeric data line may contain (anything else sends the file to the diagnosis).
_DATA_BYTES = b"0123456789+-.eE, \t\r\n"
_COMMENT = "#"
_CHUNK = 1 << 20


class TableError(ValueError):
    """A text table that cannot be read; the message names the file, line and column."""


def parse_number(text: str) -> float:
    """Parse one decimal number strictly (no ``1_0``, hex, ``nan``, ``inf``); raise ValueError.

    Parameters
    ----------
    text : str
        The cell, surrounding whitespace allowed.

    Returns
    -------
    float
        Its value (a finite float64; a decimal beyond the float64 range raises).

    Raises
    ------
    ValueError
        The cell is not a plain decimal number, or it overflows float64.

    Examples
    --------
    >>> parse_number(" -1.5e3 ")
    -1500.0
    >>> parse_number("1_0")
    Traceback (most recent call last):
    ...
    ValueError: '1_0' is not a decimal number
    """
    cell = text.strip()
    shown = repr(cell) if len(cell) <= 40 else f"{cell[:20]!r}...({len(cell)} characters)"
    if _NONFINITE.fullmatch(cell):
        raise ValueError(f"{shown} is not a finite number")
    if not _NUMBER.fullmatch(cell):
        raise ValueError(f"{shown} is not a decimal number")
    value = float(cell)
    if not math.isfinite(value):
        raise ValueError(f"{shown} is beyond the float64 range")
    return value


def _strip_comment(line: str) -> str:
    cut = line.find(_COMMENT)
    return line if cut < 0 else line[:cut]


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]))


def _is_numeric_row(cells: list[str]) -> bool:
    try:
        for c in cells:
            parse_number(c)
    except ValueError:
        return False
    return True


def _looks_numeric(cell: str) -> bool:
    """Whether Python's ``float`` would take ``cell`` (``1_0``, ``nan``, ``١``): never a name."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_table(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_TABLE_BYTES
) -> tuple[list[str] | None, NDArray[np.float64]]:
    r"""Read a comma-separated table of numbers, with an optional header line.

    Parameters
    ----------
    path : str or path-like
        The file. Blank lines and text after ``#`` are ignored. The first remaining line is a
        header when any of its cells is not a number.
    max_bytes : int
        Refuse larger files (default :data:`MAX_TABLE_BYTES`, 1 GiB).

    Returns
    -------
    header : list of str or None
        The column names, stripped and lower-cased (None without a header line).
    values : numpy.ndarray
        The data, float64 of shape ``(rows, columns)`` (a single column gives ``(rows, 1)``).

    Raises
    ------
    TableError
        (a ValueError) The file is missing, unreadable, not text, larger than ``max_bytes``,
        empty, has no data rows, has rows of different lengths ("ragged", naming the line), a
        header whose width differs from the data, or a cell that is not a finite decimal
        number (naming its line and column).
    MemoryError
        The values would not fit in the available memory.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
    ...     _ = fh.write("ratio,loss\\n0.5,1.25\\n1.0,2.5\\n")
    >>> read_table(fh.name)
    (['ratio', 'loss'], array([[0.5 , 1.25],
           [1.  , 2.5 ]]))
    >>> os.unlink(fh.name)
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise TableError(f"cannot read {p}: {exc.strerror or exc}") from exc
    if p.is_dir():
        raise TableError(f"{p} is a directory, not a file")
    if size > max_bytes:
        raise TableError(
            f"{p} is {format_bytes(size)}; tables above {format_bytes(max_bytes)} are not read "
            "(split the file, or save the array as .npy)"
        )
    # Every value takes at least two bytes ("1,"): at most size/2 float64 values, and numpy's
    # reader may hold twice its output while it grows.
    check_memory(8.0 * size, f"reading {p} ({format_bytes(size)} of text)")
    header, first, clean = _scan(p)
    if first is None:
        raise TableError(f"{p} has no data rows" if header else f"{p} is empty")
    data: NDArray[np.float64] | None = None
    if clean:
        try:
            data = np.loadtxt(p, delimiter=",", comments=_COMMENT, skiprows=first - 1,
                              ndmin=2, dtype=np.float64, encoding="utf-8")
        except ValueError:
            data = None  # the careful reader below names the line (or reads what numpy won't)
        if data is not None and not np.all(np.isfinite(data)):
            data = None
    if data is None:
        data = _read_careful(p, header, first)
    if header is not None and len(header) != data.shape[1]:
        raise TableError(
            f"{p}: the header has {len(header)} columns but the rows have {data.shape[1]}"
        )
    return header, data


def _scan(p: Path) -> tuple[list[str] | None, int | None, bool]:
    """Find the header and the first data line (1-based); check the data bytes in chunks.

    Returns ``(header, first_data_line, clean)``; ``clean`` is False when a byte that no
    number can contain follows the header (the caller then diagnoses the file line by line).
    """
    header: list[str] | None = None
    first: int | None = None
    offset = 0
    try:
        with open(p, "rb") as fh:
            lineno = 0
            for raw in fh:
                lineno += 1
                offset += len(raw)
                line = _strip_comment(_decode(raw, p, lineno)).strip()
                if not line:
                    continue
                cells = _cells(line)
                if _is_numeric_row(cells):
                    first = lineno
                    offset -= len(raw)
                    break
                if header is not None or any(_looks_numeric(c) for c in cells):
                    # a second non-numeric line, or numbers in a syntax we refuse ("1_0"):
                    # data with an error, which the diagnosis names
                    return header, lineno, False
                header = [c.strip().lower() for c in cells]
            if first is None:
                return header, None, True
            fh.seek(offset)
            while chunk := fh.read(_CHUNK):
                if chunk.translate(None, _DATA_BYTES):
                    return header, first, False
    except OSError as exc:
        raise TableError(f"cannot read {p}: {exc.strerror or exc}") from exc
    return header, first, True


def _decode(raw: bytes, p: Path, lineno: int) -> str:
    try:  # a byte-order mark (spreadsheet exports) opens the first line only
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise TableError(f"{p} is not a text file (line {lineno}: {exc.reason})") from exc


def _read_careful(p: Path, header: list[str] | None, first: int) -> NDArray[np.float64]:
    """Read line by line with :func:`parse_number` into a compact buffer; name the first bad line.

    Slower than numpy's reader but as lean (8 bytes per value, no Python objects kept): used
    when a line needs care (whitespace-only lines) or holds an error to report.
    """
    width = len(header) if header is not None else None
    what = "the header" if header is not None else None
    values = array("d")
    with open(p, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno < first:
                continue
            line = _strip_comment(_decode(raw, p, lineno)).strip()
            if not line:
                continue
            cells = line.split(",")
            if width is None:
                width, what = len(cells), f"line {lineno}"
            elif len(cells) != width:
                raise TableError(
                    f"{p}: ragged table: line {lineno} has {len(cells)} columns, {what} has "
                    f"{width}"
                )
            for col, cell in enumerate(cells, start=1):
                try:
                    values.append(parse_number(cell))
                except ValueError as exc:
                    raise TableError(f"{p}: line {lineno}, column {col}: {exc}") from None
    if width is None or not values:
        raise TableError(f"{p} has no data rows")
    return np.frombuffer(values, dtype=np.float64).reshape(-1, width)
