"""`manage.py stripe_setup` against the Stripe emulator: the webhook endpoint (pinned API version,
the events the handlers take) and the Billing Portal configuration are created once, then left
alone or brought back to what the service needs; the account's payout schedule and Adaptive
Pricing are reported."""

import io

import pytest
from django.core.management import CommandError, call_command

from payments.event_handlers import HANDLERS
from payments.stripe_gateway import API_VERSION, StripeGateway
from stripe_emulator import Emulator, EmulatorHttpClient

SITE = "https://support.example.org"
ENDPOINT_URL = SITE + "/stripe/webhook/"


@pytest.fixture
def emulator(settings, monkeypatch):
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_setup"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_pending"
    settings.STRIPE_LIVEMODE = False
    settings.STRIPE_PORTAL_CONFIGURATION = ""
    settings.SITE_URL = SITE
    emulator = Emulator()
    client = EmulatorHttpClient(emulator)
    monkeypatch.setattr(StripeGateway, "http_client", client)
    return emulator, client


def setup() -> str:
    out = io.StringIO()
    call_command("stripe_setup", stdout=out)
    return out.getvalue()


def writes(client) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in client.requests if r["method"] != "GET"]


def test_first_run_creates_the_endpoint_and_portal_then_a_second_changes_nothing(emulator):
    emulator, client = emulator
    out = setup()

    [endpoint] = emulator.find("webhook_endpoint")
    assert endpoint["url"] == ENDPOINT_URL
    assert endpoint["api_version"] == API_VERSION
    assert endpoint["enabled_events"] == sorted(HANDLERS)  # what the code handles, nothing else
    assert "payout.reconciliation_completed" in endpoint["enabled_events"]
    assert f"webhook endpoint {endpoint['id']}: created" in out
    assert f"STRIPE_WEBHOOK_SECRET={endpoint['_secret']}" in out

    [portal] = emulator.find("billing_portal.configuration")
    features = portal["features"]
    assert features["subscription_cancel"]["enabled"] is True
    assert features["subscription_cancel"]["mode"] == "at_period_end"
    assert features["payment_method_update"]["enabled"] is True
    assert features["subscription_update"]["enabled"] is False
    assert portal["default_return_url"] == SITE + "/support/account/"
    assert f"STRIPE_PORTAL_CONFIGURATION={portal['id']}" in out
    assert "payout schedule: daily, 2 days' delay" in out
    assert "Adaptive Pricing" in out and API_VERSION in out

    client.requests.clear()
    again = setup()
    assert writes(client) == []  # nothing created or changed
    assert f"webhook endpoint {endpoint['id']}: unchanged" in again
    assert f"Billing Portal configuration {portal['id']}: unchanged" in again
    assert "STRIPE_WEBHOOK_SECRET=" not in again
    assert len(emulator.find("webhook_endpoint")) == 1
    assert len(emulator.find("billing_portal.configuration")) == 1


def test_an_endpoint_missing_events_or_a_changed_portal_is_brought_back(emulator):
    emulator, _ = emulator
    setup()
    [endpoint] = emulator.find("webhook_endpoint")
    endpoint["enabled_events"] = ["checkout.session.completed"]  # set up by hand, long ago
    endpoint["status"] = "disabled"
    emulator.save(endpoint)
    [portal] = emulator.find("billing_portal.configuration")
    portal["features"]["subscription_update"]["enabled"] = True  # changed in the Dashboard
    emulator.save(portal)

    out = setup()
    endpoint = emulator.get(endpoint["id"], "webhook_endpoint")
    assert (endpoint["enabled_events"], endpoint["status"]) == (sorted(HANDLERS), "enabled")
    assert f"webhook endpoint {endpoint['id']}: updated" in out
    portal = emulator.get(portal["id"], "billing_portal.configuration")
    assert portal["features"]["subscription_update"]["enabled"] is False
    assert "Billing Portal configuration" in out and ": updated" in out


def test_an_endpoint_of_another_api_version_gets_a_pinned_one_beside_it(emulator):
    emulator, _ = emulator
    old = emulator.create(
        "webhook_endpoint",
        url=ENDPOINT_URL,
        api_version="2024-06-20",
        enabled_events=["*"],
        status="enabled",
    )
    out = setup()
    endpoints = {e["id"]: e for e in emulator.find("webhook_endpoint")}
    assert len(endpoints) == 2
    assert endpoints[old["id"]]["api_version"] == "2024-06-20"  # left for its pending retries
    [new] = [e for e in endpoints.values() if e["id"] != old["id"]]
    assert new["api_version"] == API_VERSION
    assert f"Endpoint {old['id']} at the same URL speaks API 2024-06-20" in out
    assert "delete it" in out


def test_manual_payouts_are_warned_about(emulator):
    emulator, _ = emulator
    account = emulator.account()
    account["settings"]["payouts"]["schedule"] = {"interval": "manual", "delay_days": 2}
    emulator.save(account)
    out = setup()
    assert "payout schedule: manual" in out
    assert "warning: Payouts are manual" in out


def test_the_portal_opens_with_the_configuration_set_up(emulator, settings):
    emulator, client = emulator
    setup()
    [portal] = emulator.find("billing_portal.configuration")
    settings.STRIPE_PORTAL_CONFIGURATION = portal["id"]
    customer = emulator.create("customer", email="reader@example.org")
    StripeGateway.from_settings().billing_portal_url(
        customer_id=customer["id"], return_url=SITE + "/support/account/"
    )
    [sent] = [r for r in client.requests if r["path"] == "/v1/billing_portal/sessions"]
    assert f"configuration={portal['id']}" in sent["body"]


def test_the_demo_needs_no_set_up(settings):
    settings.PAYMENTS_DEMO = True
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="demo provider needs no set-up"):
        setup()
