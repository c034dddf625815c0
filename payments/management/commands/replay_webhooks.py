"""`manage.py replay_webhooks EVENT_ID` applies one stored event again; `--failed` all failed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.webhooks import webhook_events_replay


class Command(BaseCommand):
    help = "Apply one stored Stripe event again (by its id), or every failed one (--failed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_id", nargs="?", help="a Stripe event id, e.g. evt_...")
        parser.add_argument("--failed", action="store_true", help="replay every failed event")

    def handle(self, *args: Any, **options: Any) -> None:
        event_id = options["event_id"]
        if bool(event_id) == bool(options["failed"]):
            raise CommandError("Give one event id, or --failed (not both).")
        results = webhook_events_replay(stripe_event_id=event_id)
        if event_id and not results:
            raise CommandError(f"No stored event {event_id}.")
        for replayed, status in results.items():
            self.stdout.write(f"{replayed}: {status}")
        self.stdout.write(f"{len(results)} event(s) replayed.")
