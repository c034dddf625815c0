import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from surveys.personal_data import PAYMENTS_HOOK_MODULE, personal_data_sources


class Command(BaseCommand):
    help = (
        "Export (as JSON on stdout) or erase everything held about one e-mail address: "
        "survey draw entries and consents, and contributions when the payments hook is present."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("email")

    def handle(self, *args: object, **options: str) -> None:
        email = options["email"].strip()
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"{email!r} is not an e-mail address.") from error
        sources = personal_data_sources()
        names = [source.name for source in sources]
        if "payments" not in names:
            self.stderr.write(f"note: contributions not covered ({PAYMENTS_HOOK_MODULE} missing)")
        if options["action"] == "export":
            result = {source.name: source.export(email=email) for source in sources}
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        with transaction.atomic():
            result = {source.name: source.erase(email=email) for source in sources}
        self.stdout.write(json.dumps({"erased": result}, indent=2))
