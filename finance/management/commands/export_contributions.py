import getpass
import os
import sys
import tempfile
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finance import services
from finance.filters import DateBasis, ReportFilterForm
from finance.models import ExportAudit, ExportFormat, ExportKind
from finance.progress import ProgressBar


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = (
        "Export payments or the monthly summary as CSV or XLSX, with the admin's filters. "
        "Writes to --output (CSV may go to standard output). Shows a progress bar on a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=ExportKind.values, default=ExportKind.PAYMENTS)
        parser.add_argument("--format", choices=ExportFormat.values, default=ExportFormat.CSV)
        parser.add_argument(
            "--output", default="-", help="file to write; '-' (the default) is standard output"
        )
        parser.add_argument("--since", help="first day, YYYY-MM-DD (publisher's time zone)")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (included)")
        parser.add_argument(
            "--date-basis",
            choices=[choice for choice, _ in DateBasis.CHOICES],
            default=DateBasis.PAYMENT,
            help="whether the period is of payment dates or payout arrival dates",
        )
        parser.add_argument("--currency", help="EUR, GBP or USD")
        parser.add_argument("--frequency", help="one_off, monthly or annual")
        parser.add_argument("--campaign", help="campaign slug")
        parser.add_argument("--variant", help="variant key")
        parser.add_argument("--status", help="pending, succeeded or failed (payments)")
        parser.add_argument("--payment-method", help="Stripe's type, e.g. card, sepa_debit")

    def handle(self, *args: Any, **options: Any) -> None:
        form = ReportFilterForm(
            {
                name: options[name]
                for name in ReportFilterForm.base_fields
                if options.get(name) is not None
            }
        )
        if not form.is_valid():
            problems = "; ".join(
                f"--{field.replace('_', '-')}: {' '.join(map(str, errors))}"
                if field != "__all__"
                else " ".join(map(str, errors))
                for field, errors in form.errors.items()
            )
            raise CommandError(f"Invalid filters: {problems}")
        filters = form.filters()
        kind, fmt, output = options["kind"], options["format"], options["output"]
        if fmt == ExportFormat.XLSX and output == "-":
            raise CommandError("XLSX needs a file: pass --output PATH.")

        bar = None
        if self.stdout.isatty() and kind == ExportKind.PAYMENTS:
            total = services.export_row_estimate(kind=kind, filters=filters)
            bar = ProgressBar(total=total, out=sys.stderr)
        on_row = bar.update if bar is not None else None

        if output == "-":
            rows = self._to_stdout(kind, filters, on_row)
        else:
            directory = os.path.dirname(os.path.abspath(output))
            if not os.path.isdir(directory):
                raise CommandError(f"The folder {directory} does not exist.")
            # Write beside the target and rename, so a failed export leaves no half file.
            handle, partial = tempfile.mkstemp(dir=directory, suffix=f".{fmt}.partial")
            os.close(handle)
            try:
                rows = services.export_file_write(
                    path=partial, kind=kind, fmt=fmt, filters=filters, on_row=on_row
                )
                os.replace(partial, output)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
        if bar is not None:
            bar.close()
        services.export_audit_record(
            user=None,
            channel=ExportAudit.Channel.COMMAND,
            kind=kind,
            fmt=fmt,
            filters=filters,
            row_count=rows,
            username=f"{_login_name()} (command line)",
        )
        if output != "-":
            self.stderr.write(f"{rows:,} rows written to {output} ({filters.describe()}).")

    def _to_stdout(self, kind: str, filters: Any, on_row: Any) -> int:
        export = services.CsvExport(kind=kind, filters=filters, on_row=on_row)
        for chunk in export:
            # Chunks hold whole lines, so each decodes on its own.
            self.stdout.write(chunk.decode("utf-8"), ending="")
        return export.rows
