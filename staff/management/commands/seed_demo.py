import importlib

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from staff.demo import demo_admin_seed


class Command(BaseCommand):
    help = (
        "Seed the embedded demo: an admin login, and whatever each app's demo.py provides "
        "(a live campaign, a survey with a prize draw). Safe to run again. Demo mode only."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.EMBEDDED:
            raise CommandError("seed_demo only runs in the embedded default (no DATABASE_URL).")
        for app_config in apps.get_app_configs():
            if app_config.name == "staff":
                continue
            try:
                demo = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{app_config.name}.demo":
                    raise
                continue
            for line in demo.demo_seed():
                self.stdout.write(f"  {line}")
        username, password = demo_admin_seed()
        site = settings.SITE_URL
        self.stdout.write(
            self.style.SUCCESS(
                "\nDemo ready.\n"
                f"  Sample article page: {site}/demo/\n"
                f"  Admin:               {site}/admin/  user {username!r}, password {password!r}\n"
                f"  Mail sent by the service is written to {settings.EMAIL_FILE_PATH}\n"
            )
        )
