from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand

from staff.services import roles_sync


class Command(BaseCommand):
    help = "Create the staff groups (editorial, finance, support) and reset their permissions."

    def handle(self, *args: object, **options: object) -> None:
        roles_sync(group_model=Group, permission_model=Permission, content_type_model=ContentType)
        self.stdout.write(self.style.SUCCESS("Staff roles are up to date."))
