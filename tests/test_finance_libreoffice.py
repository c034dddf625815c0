"""Exports opened by a real spreadsheet: LibreOffice reads both formats back unchanged.

LibreOffice converts each export to CSV on its own (headless), so what is checked is what a
person opening the file would see: names in any script intact, formula-like text shown as text
(never evaluated), amounts as numbers.
"""

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from finance.filters import ReportFilters
from finance.models import ExportFormat, ExportKind
from finance.services import export_file_write
from tests.test_finance_exports import HOSTILE, UNICODE_NAME, hostile_ledger  # noqa: F401

pytestmark = [pytest.mark.libreoffice, pytest.mark.django_db]

# Comma-separated, double quotes, UTF-8 (LibreOffice's character set number 76).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76"


def libreoffice_to_csv(source: Path, out_dir: Path) -> list[dict[str, str]]:
    """Open `source` in LibreOffice and return the rows it shows, as it saves them to CSV."""
    soffice = shutil.which("soffice")
    assert soffice is not None
    profile = out_dir / "profile"
    # A CSV opens through LibreOffice's import dialog; these are the choices a person makes there.
    import_options = (
        ["--infilter=" + CSV_FILTER.removeprefix("csv:")] if source.suffix == ".csv" else []
    )
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            *import_options,
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(out_dir / "lo"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    converted = out_dir / "lo" / (source.stem + ".csv")
    with converted.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("fmt", [ExportFormat.XLSX, ExportFormat.CSV])
def test_libreoffice_shows_names_and_neutralised_text_as_written(hostile_ledger, tmp_path, fmt):  # noqa: F811
    path = tmp_path / f"payments.{fmt}"
    export_file_write(path=str(path), kind=ExportKind.PAYMENTS, fmt=fmt, filters=ReportFilters())

    rows = libreoffice_to_csv(path, tmp_path)

    names = [row["supporter name"] for row in rows]
    assert names[0] == UNICODE_NAME
    # Shown as the text that was typed, apostrophe and all: nothing was evaluated as a formula.
    # (A spreadsheet keeps a line break in a cell as LF, whichever way it was written.)
    shown = [name.lstrip("'").replace("\r", "\n") for name in names[1:]]
    assert shown == [text.replace("\r", "\n") for text in HOSTILE]
    assert rows[0]["net"] in ("-2.50", "-2.5")
    assert rows[0]["gross"] in ("10.50", "10.5")
