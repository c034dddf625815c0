import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.proof import bundle_verify


class Command(BaseCommand):
    help = (
        "Re-check a prize draw from its proof bundle alone (the JSON offered on the draw's "
        "public page): commitment, entries fingerprint and the ranking of winners and reserves."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle", type=Path, help="path to the downloaded proof bundle")

    def handle(self, *args: object, **options: Path) -> None:
        try:
            bundle = json.loads(options["bundle"].read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the bundle: {error}") from error
        if not isinstance(bundle, dict):
            raise CommandError("The bundle is not a JSON object.")
        problems = bundle_verify(bundle)
        if problems:
            raise CommandError("The draw does NOT verify:\n- " + "\n- ".join(problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"The draw verifies: {bundle['entries_count']} entries, "
                f"{len(bundle['ranking'])} places, commitment {bundle['commitment']}."
            )
        )
