"""Reading CSV and XLSX files row by row for imports, with row numbers as the user sees them
(the header is row 1, the first data row is row 2) and header names mapped to fields.

CSV files are read as UTF-8 (with or without BOM) and, failing that, as GB18030 — the
encoding Excel uses for CSV on Chinese Windows. XLSX files are streamed (openpyxl read-only),
so a million rows never sit in memory at once.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _

from grid.errors import InvalidInput


@dataclass(frozen=True)
class RowProblem:
    """One problem of one row: row number (header = 1), column name as in the file, reason."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class Table:
    """The mapped header and an iterator of (row number, {field: text}) for non-empty rows.
    `columns` maps each field to the header name the file used for it, for reports.
    `numeric` lists, per row, the fields whose XLSX cell held a number rather than text."""

    columns: dict[str, str]
    rows: Iterator[tuple[int, dict[str, str]]]
    numeric: dict[int, set[str]] = field(default_factory=dict)


def _normalise_header(name: object) -> str:
    return "".join(str(name or "").split()).lower()


def _map_header(
    header: Sequence[object], *, aliases: Mapping[str, str], required: Sequence[str]
) -> tuple[dict[int, str], dict[str, str]]:
    """Column positions → fields, and fields → the header names the file used."""
    lookup = {_normalise_header(alias): field_name for alias, field_name in aliases.items()}
    lookup.update({_normalise_header(name): name for name in set(aliases.values())})
    positions: dict[int, str] = {}
    columns: dict[str, str] = {}
    for index, name in enumerate(header):
        field_name = lookup.get(_normalise_header(name))
        if field_name and field_name not in columns:
            positions[index] = field_name
            columns[field_name] = str(name).strip()
    missing = [name for name in required if name not in columns]
    if missing:
        known = sorted({*aliases.keys(), *aliases.values()})
        raise InvalidInput(
            _("the file has no column for %(missing)s (known column names: %(known)s)")
            % {"missing": ", ".join(missing), "known": ", ".join(known)},
            details=[RowProblem(1, name, _("missing column")).as_dict() for name in missing],
        )
    return positions, columns


def _cell_text(value: object) -> tuple[str, bool]:
    """The text of a cell and whether it held a number."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)), True
    return str(value).strip(), False


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(_("the CSV file is neither UTF-8 nor GB18030 text"))


def _csv_rows(text: str) -> Iterator[list[str]]:
    if "\0" in text[:4096]:
        raise InvalidInput(_("the file is not a CSV text file"))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text, newline=""), dialect)


def _xlsx_rows(stream: IO[bytes]) -> Iterator[Sequence[object]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput(
            _("the file is not a readable XLSX workbook: %(reason)s") % {"reason": exc}
        ) from exc
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def read_table(
    source: str | Path | IO[bytes],
    *,
    filename: str,
    aliases: Mapping[str, str],
    required: Sequence[str],
) -> Table:
    """Open a CSV or XLSX file (by its name's extension, checked against its content) and map
    its header. `aliases` maps accepted header names (e.g. 身份证号) to field names; a field's
    own name is always accepted. Missing required columns raise InvalidInput listing them."""
    suffix = Path(filename).suffix.lower()
    if isinstance(source, str | Path):
        stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by the row iterator
    else:
        stream = source
    head = stream.read(4)
    stream.seek(0)
    if suffix == ".xlsx":
        if head != b"PK\x03\x04":
            raise InvalidInput(_("“%(file)s” is not an XLSX workbook") % {"file": filename})
        raw_rows: Iterator[Sequence[object]] = _xlsx_rows(stream)
    elif suffix in (".csv", ".txt"):
        if head.startswith(b"PK\x03\x04"):
            raise InvalidInput(
                _("“%(file)s” is a workbook, not CSV text: name it .xlsx") % {"file": filename}
            )
        raw_rows = _csv_rows(_decode(stream.read()))
    else:
        raise InvalidInput(_("“%(file)s” is neither a CSV nor an XLSX file") % {"file": filename})
    try:
        header = next(raw_rows)
    except StopIteration:
        raise InvalidInput(_("the file is empty")) from None
    positions, columns = _map_header(header, aliases=aliases, required=required)
    numeric: dict[int, set[str]] = {}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, raw in enumerate(raw_rows, start=2):
                values: dict[str, str] = {}
                for index, field_name in positions.items():
                    text, was_number = _cell_text(raw[index] if index < len(raw) else None)
                    values[field_name] = text
                    if was_number:
                        numeric.setdefault(number, set()).add(field_name)
                if any(values.values()):
                    yield number, values
        finally:
            if isinstance(source, str | Path):
                stream.close()

    return Table(columns=columns, rows=rows(), numeric=numeric)
