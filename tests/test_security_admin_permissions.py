"""Finding 3 of the security review: every admin action and custom admin view has a rule.

Every action of every registered admin declares the permissions it needs (Django's
`@admin.action(permissions=[...])`, each backed by a `has_<name>_permission` method), and the
actions each role of `staff/roles.py` is offered are written out below: a new action without a
rule, or a rule that lets a role do more, fails here.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from staff.roles import EDITORIAL, FINANCE, ROLES, SUPPORT
from staff.tests.helpers import staff_member

pytestmark = pytest.mark.django_db

NO_ROLE = "no role"

# Admin (by model label) -> role -> the actions that role is offered there. An admin a role
# cannot open at all, or where it is offered no action, is left out.
ACTIONS = {
    "auth.Group": {},
    "auth.User": {},
    "campaigns.Campaign": {EDITORIAL: {"delete_selected", "make_live", "pause"}},
    "campaigns.KillSwitch": {EDITORIAL: {"delete_selected", "lift"}},
    "finance.ExportAudit": {},
    "finance.ExportJob": {},
    "finance.FinanceDashboard": {},
    "finance.MonthlyReportSend": {},
    "finance.PayoutReconciliation": {},
    "payments.Contribution": {},
    "payments.ContributionFlag": {FINANCE: {"resolve"}},
    "payments.Dispute": {},
    "payments.Payment": {
        FINANCE: {"refund_in_full", "refund_part", "resend_receipts"},
        SUPPORT: {"resend_receipts"},
    },
    "payments.Payout": {},
    "payments.ReceiptSend": {},
    "payments.Refund": {},
    "payments.Subscription": {SUPPORT: {"cancel_subscriptions"}},
    "payments.Supporter": {},
    "payments.SupporterNotice": {},
    "payments.WebhookEvent": {},
    "surveys.DrawAuditEvent": {},
    "surveys.DrawPlacement": {EDITORIAL: {"rule_ineligible"}},
    "surveys.Entry": {EDITORIAL: {"disqualify"}},
    "surveys.PrizeDraw": {
        EDITORIAL: {"delete_selected", "open_entries", "close_entries", "run_draw"}
    },
    "surveys.Response": {},
    "surveys.Survey": {EDITORIAL: {"delete_selected"}},
    "surveys.SurveyVersion": {},
}


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_every_action_declares_the_permissions_it_needs():
    undeclared = []
    for model, model_admin in registered():
        for func, name, _description in model_admin._get_base_actions():
            permissions = getattr(func, "allowed_permissions", None)
            if not permissions:
                undeclared.append(f"{model._meta.label}: {name}")
                continue
            for permission in permissions:
                if not hasattr(model_admin, f"has_{permission}_permission"):
                    undeclared.append(f"{model._meta.label}: {name} needs has_{permission}")
    assert undeclared == []


def test_the_matrix_covers_every_registered_admin():
    assert sorted(ACTIONS) == [model._meta.label for model, _ in registered()]


def test_each_role_is_offered_exactly_the_actions_the_matrix_gives_it():
    request_factory = RequestFactory()
    offered: dict[str, dict[str, set[str]]] = {}
    for role in [*ROLES, None]:
        request = request_factory.get("/admin/")
        request.user = staff_member(role)
        for model, model_admin in registered():
            actions = set(model_admin.get_actions(request))
            if actions and model_admin.has_view_or_change_permission(request):
                offered.setdefault(model._meta.label, {})[role or NO_ROLE] = actions
    expected = {label: roles for label, roles in ACTIONS.items() if roles}
    assert offered == expected


def test_support_cannot_disqualify_an_entry_or_rule_a_winner_ineligible(client):
    """The attack as reported: view-only on draws, yet ran both actions."""
    from surveys.models import DrawPlacement, Entry
    from surveys.services.draws import draw_run
    from surveys.tests.factories import draw_closed, draw_create, entries_confirmed, survey_create

    draw = draw_create(survey=survey_create())
    entries = entries_confirmed(draw=draw, count=3)
    client.force_login(staff_member(SUPPORT))

    client.post(
        "/admin/surveys/entry/", {"action": "disqualify", "_selected_action": [entries[0].pk]}
    )
    assert Entry.objects.get(pk=entries[0].pk).status == Entry.Status.CONFIRMED

    draw_closed(draw=draw)
    draw_run(draw_id=draw.pk)
    winner = DrawPlacement.objects.get(status=DrawPlacement.Status.NOTIFIED)
    client.post(
        "/admin/surveys/drawplacement/",
        {"action": "rule_ineligible", "_selected_action": [winner.pk]},
    )
    assert DrawPlacement.objects.get(pk=winner.pk).status == DrawPlacement.Status.NOTIFIED


@pytest.fixture
def admin_objects():
    import datetime as dt

    from surveys.tests.factories import survey_create
    from tests.finance_factories import CampaignFactory, give

    campaign = CampaignFactory.create(slug="spring")
    payment = give(paid_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC), gross=1000, fee=30)
    user = staff_member(None, username="someone")
    return {"campaign": campaign, "survey": survey_create(), "payment": payment, "user": user}


# The custom admin pages (not actions): URL -> the roles that may open it. Everyone else is
# refused: 403, or 404 where the page's existence is itself hidden.
CUSTOM_VIEWS = {
    "/admin/campaigns/campaign/{campaign.pk}/results/": {EDITORIAL, FINANCE},
    "/admin/surveys/survey/{survey.pk}/results/": {EDITORIAL},
    "/admin/surveys/survey/{survey.pk}/export.csv": {EDITORIAL},
    "/admin/surveys/survey/{survey.pk}/export.xlsx": {EDITORIAL},
    "/admin/finance/financedashboard/": {FINANCE},
    "/admin/finance/financedashboard/export/?kind=payments&format=csv": {FINANCE},
    "/admin/finance/exportjob/download/expired-token/": {FINANCE},  # 410: the link expired
    "/admin/payments/payment/{payment.pk}/refund/": {FINANCE},
    "/admin/auth/user/{user.pk}/password/": set(),  # superusers only
}
REFUSED = (403, 404)


@pytest.mark.parametrize("role", [EDITORIAL, FINANCE, SUPPORT, None])
def test_custom_admin_pages_follow_the_matrix(client, admin_objects, role):
    client.force_login(staff_member(role))
    wrong = []
    for template, allowed in CUSTOM_VIEWS.items():
        url = template.format(**admin_objects)
        status = client.get(url).status_code
        if status >= 500 or (status in REFUSED) != (role not in allowed):
            wrong.append(f"{url}: {status}")
    assert wrong == []


def test_the_custom_pages_matrix_covers_every_custom_admin_url():
    import inspect

    from django.urls import URLPattern

    standard = {"changelist_view", "add_view", "history_view", "delete_view", "change_view"}
    custom = set()
    for _model, model_admin in registered():
        for pattern in model_admin.get_urls():
            view = inspect.unwrap(pattern.callback) if isinstance(pattern, URLPattern) else None
            if pattern.name and view is not None and view.__name__ not in standard:
                custom.add(pattern.name)
    covered = {
        "campaigns_campaign_results",
        "surveys_survey_results",
        "surveys_survey_export",
        "finance_financedashboard_changelist",
        "finance_export",
        "finance_exportjob_download",
        "payments_payment_refund",
        "auth_user_password_change",
    }
    assert custom == covered, "add the new admin page to CUSTOM_VIEWS"
