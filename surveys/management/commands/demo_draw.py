"""`manage.py demo_draw [--entrants N]` runs the demo survey's prize draw to the end now."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from branding.mail import site_link
from surveys.demo import DemoDrawRefused, demo_draw_run


class Command(BaseCommand):
    help = (
        "Embedded demo only: end the demo prize draw's entry period now, with N demo entrants "
        "added beside the readers who entered and confirmed, freeze the entries and draw. The "
        "worker mails the winners their claim links; the draw page shows the proof."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--entrants",
            type=int,
            default=20,
            help="confirmed demo entries to add (addresses @example.net; default 20)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["entrants"] < 0:
            raise CommandError("--entrants must be 0 or more.")
        try:
            result = demo_draw_run(entrants=options["entrants"])
        except DemoDrawRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        draw = result.draw
        page = site_link(reverse("surveys:draw-detail", args=[draw.survey.slug, draw.pk]))
        self.stdout.write(
            f"Drew “{draw.title}” from {result.entries_count} confirmed entries "
            f"({result.entries_added} demo entrants added)."
        )
        for rank, public_id in enumerate(result.winners, start=1):
            self.stdout.write(f"  winner {rank}: entry {public_id}")
        self.stdout.write(
            f"Draw page with the proof: {page}\n"
            f"The worker mails each winner a claim link; mail is written to "
            f"{settings.EMAIL_FILE_PATH}"
        )
