"""Writing report rows to CSV and XLSX, streamed, with spreadsheet formula injection defused.

CSV is UTF-8 with a byte order mark, so Excel reads any script correctly; XLSX rows are streamed
into a workbook xlsxwriter lays out (one block of rows in memory at a time). Only text cells are
neutralised: amounts and ids are numbers we produced, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from finance.filters import publisher_tz
from finance.selectors import Column

BOM = "\ufeff"
# What makes a spreadsheet read a cell as a formula: OWASP's list, and the full-width and
# small-form look-alikes some spreadsheets (and their import dialogs) fold into them.
FORMULA_CHARACTERS = "=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b"
# What a spreadsheet may skip before it sees the formula: whitespace (tab, CR, LF, no-break and
# ideographic spaces ...), zero-width characters and a byte order mark.
FORMULA_SKIPPED = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060"
    "\u3000\ufeff"
)
# A cell starting with a tab or carriage return is neutralised whatever follows (OWASP).
FORMULA_START_CONTROLS = ("\t", "\r")


def _character_class(characters: str) -> str:
    """Return a regex bracket expression of these characters, valid in Python and PostgreSQL."""
    # "-" last is literal in both; nothing here needs another escape.
    return "[" + characters.replace("-", "") + ("-" if "-" in characters else "") + "]"


# The same pattern runs in Python (`neutralise`) and in PostgreSQL (finance/pg_copy.py).
FORMULA_PATTERN = f"^{_character_class(FORMULA_SKIPPED)}*{_character_class(FORMULA_CHARACTERS)}"
_FORMULA = re.compile(FORMULA_PATTERN)
# Minor units per major unit, for the currencies that do not have two decimals.
CURRENCY_EXPONENT: dict[str, int] = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
CHUNK_SIZE = 5000
# Spreadsheet dates are days since this day (with Lotus's leap-year bug folded in).
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
ONE_DAY = dt.timedelta(days=1)


def neutralise(text: str) -> str:
    """Return `text` so that no spreadsheet evaluates it as a formula.

    The one rule for every CSV, XLSX and SQL-side export: text that a spreadsheet could read as
    a formula, after any whitespace or invisible characters it may skip, gets a leading
    apostrophe (shown, never evaluated). Only text cells go through it: numbers stay numbers.
    """
    if text.startswith(FORMULA_START_CONTROLS) or _FORMULA.match(text):
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


# XML text: what needs escaping (xlsxwriter's rules, so Excel reads the text back unchanged).
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_OOXML_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
MAX_CELL_TEXT = 32767  # Excel's limit on the characters in a cell


def _inline_string(ref: str, text: str) -> str:
    """Return an inline string cell, escaped as Excel expects."""
    text = text[:MAX_CELL_TEXT]
    if _XML_SPECIAL.search(text):
        text = _OOXML_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _EDGE_SPACE.search(text):
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


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

    xlsxwriter writes the workbook around the data (header, column widths, frozen header,
    number formats, every other part of the package), and this function writes the data rows'
    XML straight into the sheet, streamed into the zip: the same cells xlsxwriter would write,
    without its per-cell bookkeeping, which cost most of the time of a large export.
    """
    template = _xlsx_template(sheet, columns)
    letters = [xl_col_to_name(c) for c in range(len(columns))]
    types = [column.type for column in columns]
    tz = publisher_tz()
    styles = template.styles
    epoch_date = EXCEL_EPOCH.date()
    count = 0
    with (
        # The fastest deflate level: a few percent larger, several times quicker than the default.
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
        zipfile.ZipFile(io.BytesIO(template.package)) as package,
    ):
        for item in package.infolist():
            if item.filename != XLSX_SHEET:
                out.writestr(item, package.read(item.filename), zipfile.ZIP_DEFLATED)
                continue
            with out.open(XLSX_SHEET, "w", force_zip64=True) as raw:
                sheet_xml = io.TextIOWrapper(raw, encoding="utf-8")
                sheet_xml.write(template.head)
                lines: list[str] = []
                for count, row in enumerate(rows, start=1):
                    r = count + 1
                    currency = row[currency_index] if currency_index is not None else ""
                    cells = [f'<row r="{r}">']
                    for c, kind in enumerate(types):
                        value = row[c]
                        if value is None or value == "":
                            continue
                        ref = f"{letters[c]}{r}"
                        if kind == "money":
                            exact = minor_to_major_text(value, currency)
                            style = styles["money"] if "." in exact else styles["money0"]
                            cells.append(f'<c r="{ref}" s="{style}"><v>{exact}</v></c>')
                        elif kind == "text":
                            cells.append(_inline_string(ref, neutralise(str(value))))
                        elif kind == "code":  # our own choices: nothing to escape
                            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
                        elif kind == "datetime":
                            local = value.astimezone(tz).replace(tzinfo=None)
                            serial = (local - EXCEL_EPOCH) / ONE_DAY
                            cells.append(
                                f'<c r="{ref}" s="{styles["datetime"]}"><v>{serial:.16G}</v></c>'
                            )
                        elif kind in ("date", "month"):
                            days = (value - epoch_date).days
                            cells.append(f'<c r="{ref}" s="{styles[kind]}"><v>{days}</v></c>')
                        else:
                            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                    cells.append("</row>")
                    lines.append("".join(cells))
                    if len(lines) >= 1000:
                        sheet_xml.write("".join(lines))
                        lines.clear()
                    if on_row is not None:
                        on_row(count)
                sheet_xml.write("".join(lines))
                sheet_xml.write(template.tail)
                sheet_xml.flush()
                sheet_xml.detach()
    return count


XLSX_SHEET = "xl/worksheets/sheet1.xml"


@dataclasses.dataclass(frozen=True)
class _Template:
    package: bytes  # the workbook xlsxwriter wrote, with the header and one probe row
    head: str  # the sheet's XML up to the first data row
    tail: str  # from the end of the data on
    styles: dict[str, int]  # cell style index by kind of value


def _xlsx_template(sheet: str, columns: Sequence[Column]) -> _Template:
    """Write the workbook without data; the probe row makes xlsxwriter emit each number format."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    formats = {
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "money0": workbook.add_format({"num_format": "#,##0"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "month": workbook.add_format({"num_format": "yyyy-mm"}),
    }
    for c, column in enumerate(columns):
        worksheet.write_string(0, c, column.header, bold)
        worksheet.set_column(c, c, max(10, min(28, len(column.header) + 2)))
    for c, fmt in enumerate(formats.values()):
        worksheet.write_number(1, c, 0, fmt)
    worksheet.freeze_panes(1, 0)
    workbook.close()
    package = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        xml = archive.read(XLSX_SHEET).decode("utf-8")
    # The dimension (the used range) is optional; the template's would be wrong.
    xml = re.sub(r"<dimension [^>]*/>", "", xml, count=1)
    probe = xml.index('<row r="2"')
    end = xml.index("</sheetData>")
    return _Template(
        package=package,
        head=xml[:probe],
        tail=xml[end:],
        styles={kind: int(fmt.xf_index) for kind, fmt in formats.items()},
    )
