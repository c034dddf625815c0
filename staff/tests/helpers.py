"""Helpers for tests of what each staff role may do (imported by the apps' tests)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User


def staff_member(role: str | None, *, username: str | None = None) -> User:
    """A staff user in a role of `staff.roles` (or in none), with a fresh permission cache."""
    user = User.objects.create_user(
        username=username or f"{role}-staff",
        password="x",
        is_staff=True,
        email=f"{role}@example.com",
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)
