"""The staff roles, as Django groups, and the permissions each one holds.

Each app adds its models here as it grows; a migration in this app re-applies the roles after
the app's own migrations (see `staff/migrations/`); `manage.py roles_sync` does the same by hand.

Entries are "app_label.model" (or "app_label.*" for every model of the app) mapped to the actions
the role may take: the standard "view", "add", "change", "delete", or a custom permission codename.
"""

from collections.abc import Iterable

EDITORIAL = "editorial"
FINANCE = "finance"
SUPPORT = "support"

ALL = ("view", "add", "change", "delete")
READ = ("view",)

ROLES: dict[str, dict[str, Iterable[str]]] = {
    # Campaigns (copy, targeting, variants, kill switch) and surveys (questions, results, draws).
    # Entrants' e-mail addresses stay hidden from editorial (no surveys.view_personal_data).
    EDITORIAL: {
        "campaigns.*": ALL,
        "surveys.*": ALL,
        "surveys.prizedraw": (*ALL, "run_draw"),
    },
    # Contributions, payments and reports; campaigns only to read attribution.
    FINANCE: {
        "campaigns.*": READ,
        "payments.*": READ,
        "payments.payment": ("view", "refund_payment", "resend_receipt", "export_payments"),
        # Mark a flag (paid twice, another currency) resolved once acted on.
        "payments.contributionflag": ("view", "change"),
        # Reports, exports and their audit; the audit is append-only, so read-only here.
        "finance.*": READ,
        "finance.exportjob": ("view", "add"),
    },
    # Look up a supporter, resend a receipt, cancel a subscription.
    # Also answer entrants' requests about prize draws (who entered, who won, their consents).
    SUPPORT: {
        "payments.supporter": READ,
        "payments.contribution": READ,
        "payments.contributionflag": READ,
        "payments.subscription": ("view", "change"),
        "payments.payment": ("view", "resend_receipt"),
        "payments.refund": READ,
        "payments.dispute": READ,
        "payments.receiptsend": READ,
        "surveys.entry": ("view", "view_personal_data"),
        "surveys.consentrecord": READ,
        "surveys.drawplacement": READ,
        "surveys.prizedraw": READ,
    },
}
