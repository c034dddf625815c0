import pytest
from django.contrib.auth.models import Group, User

from staff.roles import EDITORIAL, FINANCE, ROLES, SUPPORT


def staff_member(role: str) -> User:
    user = User.objects.create_user(username=f"{role}-member", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.mark.django_db
def test_migrations_create_one_group_per_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {EDITORIAL, FINANCE, SUPPORT}
    assert set(ROLES) == {EDITORIAL, FINANCE, SUPPORT}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [EDITORIAL, FINANCE, SUPPORT])
def test_each_role_reaches_the_admin_but_not_user_accounts(client, role):
    client.force_login(staff_member(role))

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403


@pytest.mark.django_db
def test_staff_without_a_role_sees_no_app(client):
    user = User.objects.create_user(username="no-role", password="x", is_staff=True)
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert response.context["available_apps"] == []


@pytest.mark.django_db
def test_every_role_entry_names_models_that_exist():
    from django.contrib.contenttypes.models import ContentType

    for grants in ROLES.values():
        for target in grants:
            app_label, model = target.split(".")
            types = ContentType.objects.filter(app_label=app_label)
            if model != "*":
                types = types.filter(model=model)
            assert types.exists(), f"{target} in staff/roles.py matches no model"


@pytest.mark.django_db
def test_editorial_edits_campaigns_and_finance_only_reads_them(client):
    client.force_login(staff_member(EDITORIAL))
    assert client.get("/admin/campaigns/campaign/add/").status_code == 200
    assert client.get("/admin/surveys/survey/add/").status_code == 200

    client.force_login(staff_member(FINANCE))
    assert client.get("/admin/campaigns/campaign/").status_code == 200
    assert client.get("/admin/campaigns/campaign/add/").status_code == 403
    assert client.get("/admin/surveys/survey/").status_code == 403

    client.force_login(staff_member(SUPPORT))
    assert client.get("/admin/campaigns/campaign/").status_code == 403
