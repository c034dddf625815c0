from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finance.rollups import rollups_available, rollups_drift, rollups_rebuild


class Command(BaseCommand):
    help = (
        "Count the finance dashboard's daily rollups afresh from the ledger, with days in "
        "PUBLISHER_TIME_ZONE (run after changing it). Ledger writes wait meanwhile. With "
        "--check, only say whether the rollups equal the ledger."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="compare with the ledger; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not rollups_available():
            raise CommandError("The rollups are kept on PostgreSQL only; this database has none.")
        if options["check"]:
            drift = rollups_drift()
            if drift:
                raise CommandError(f"The rollups differ from the ledger in {len(drift)} rows.")
            self.stdout.write("The rollups equal the ledger.")
            return
        rollups_rebuild()
        self.stdout.write(f"Rollups counted afresh, days in {settings.PUBLISHER_TIME_ZONE}.")
