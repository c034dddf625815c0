"""Writing report rows to CSV and XLSX, streamed, with spreadsheet formula injection defused.

CSV is UTF-8 with a byte order mark, so Excel reads any script correctly; XLSX is written by
xlsxwriter in constant-memory mode (one row in memory at a time). Only text cells are
neutralised: amounts and ids are numbers we produced, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import xlsxwriter

from finance.filters import publisher_tz
from finance.selectors import Column

BOM = "\ufeff"
# What makes a spreadsheet read a cell as a formula (OWASP's list, plus CR and tab).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Minor units per major unit, for the currencies that do not have two decimals.
CURRENCY_EXPONENT: dict[str, int] = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
CHUNK_SIZE = 5000
# Spreadsheet dates are days since this day (with Lotus's leap-year bug folded in).
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ONE_DAY = dt.timedelta(days=1)


def neutralise(text: str) -> str:
    """Return `text` so that no spreadsheet evaluates it as a formula."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def minor_to_major_text(amount: int, currency: str) -> str:
    """Return e.g. 1234 EUR as "12.34" (exact: no floating point)."""
    exponent = CURRENCY_EXPONENT.get(currency, 2)
    if exponent == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def _datetime_text(value: dt.datetime) -> str:
    return value.astimezone(publisher_tz()).strftime("%Y-%m-%d %H:%M:%S")


def _csv_formatters(
    columns: Sequence[Column], currency_index: int | None
) -> Callable[[Sequence[Any]], list[str]]:
    """Return a function turning one raw row into CSV cells."""
    types = [column.type for column in columns]

    def format_row(row: Sequence[Any]) -> list[str]:
        currency = row[currency_index] if currency_index is not None else ""
        cells = []
        for kind, value in zip(types, row, strict=True):
            if value is None:
                cells.append("")
            elif kind == "money":
                cells.append(minor_to_major_text(value, currency))
            elif kind == "text":
                cells.append(neutralise(str(value)))
            elif kind == "code":
                cells.append(value)
            elif kind == "datetime":
                cells.append(_datetime_text(value))
            elif kind == "month":
                cells.append(value.strftime("%Y-%m"))
            elif kind == "date":
                cells.append(value.isoformat())
            else:
                cells.append(str(value))
        return cells

    return format_row


class _Line:
    """A file-like that hands back what csv.writer wrote, one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    *,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    currency_index: int | None,
    on_row: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """Yield the CSV text, header first (with the BOM), one line per row."""
    # The default CRLF line ends also make the writer quote a value holding a lone CR.
    writer = csv.writer(_Line())
    format_row = _csv_formatters(columns, currency_index)
    yield BOM + writer.writerow([column.header for column in columns])
    for count, row in enumerate(rows, start=1):
        yield writer.writerow(format_row(row))
        if on_row is not None:
            on_row(count)


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def csv_write(
    *,
    out: Writable,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    currency_index: int | None,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """Write the CSV to a text stream; return the number of data rows."""
    count = 0

    def counting(n: int) -> None:
        nonlocal count
        count = n
        if on_row is not None:
            on_row(n)

    buffer: list[str] = []
    for line in csv_lines(
        columns=columns, rows=rows, currency_index=currency_index, on_row=counting
    ):
        buffer.append(line)
        if len(buffer) >= 1000:
            out.write("".join(buffer))
            buffer.clear()
    if buffer:
        out.write("".join(buffer))
    return count


def xlsx_write(
    *,
    path: str,
    sheet: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    currency_index: int | None,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """Write an XLSX workbook of one sheet to `path`; return the number of data rows.

    Amounts are numbers in major units with two decimals shown; dates are real dates.
    """
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
            "tmpdir": None,
        },
    )
    try:
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        money0 = workbook.add_format({"num_format": "#,##0"})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        month = workbook.add_format({"num_format": "yyyy-mm"})
        for c, column in enumerate(columns):
            worksheet.write_string(0, c, column.header, bold)
            worksheet.set_column(c, c, max(10, min(28, len(column.header) + 2)))
        types = [column.type for column in columns]
        tz = publisher_tz()
        write_number, write_string = worksheet.write_number, worksheet.write_string
        r = 0
        for r, row in enumerate(rows, start=1):
            currency = row[currency_index] if currency_index is not None else ""
            exponent = CURRENCY_EXPONENT.get(currency, 2)
            for c, kind in enumerate(types):
                value = row[c]
                if value is None or value == "":
                    continue
                if kind == "money":
                    write_number(r, c, value / 10**exponent, money if exponent else money0)
                elif kind == "text":
                    text = str(value)
                    write_string(r, c, "'" + text if text.startswith(FORMULA_PREFIXES) else text)
                elif kind == "code":
                    write_string(r, c, value)
                elif kind == "datetime":
                    local = value.astimezone(tz).replace(tzinfo=None)
                    write_number(r, c, (local - EXCEL_EPOCH) / ONE_DAY, when)
                elif kind == "date":
                    write_number(r, c, (value - EXCEL_EPOCH.date()).days, day)
                elif kind == "month":
                    write_number(r, c, (value - EXCEL_EPOCH.date()).days, month)
                else:
                    write_number(r, c, value)
            if on_row is not None:
                on_row(r)
        worksheet.freeze_panes(1, 0)
        return r
    finally:
        workbook.close()
