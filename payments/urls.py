from django.urls import URLPattern, URLResolver, path

from config import url_ids  # noqa: F401 - registers the id and token converters
from payments import account_views, views

app_name = "payments"

urlpatterns: list[URLPattern | URLResolver] = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("support/thanks/", views.thanks, name="thanks"),
    path("support/thanks/status/", views.thanks_status, name="thanks-status"),
    path("support/checkout/<token:token>/hosted/", views.checkout_hosted, name="checkout-hosted"),
    path("support/account/", account_views.account, name="account"),
    path("support/account/sign-in/<token:token>/", account_views.sign_in, name="sign-in"),
    path("support/account/sign-out/", account_views.sign_out, name="sign-out"),
    path("support/account/portal/", account_views.portal, name="portal"),
    path("support/account/name/", account_views.name_change, name="name-change"),
    path(
        "support/account/contributions/<int:contribution_id>/amount/",
        account_views.amount_change,
        name="amount-change",
    ),
    path(
        "support/account/contributions/<int:contribution_id>/cancel/",
        account_views.cancel,
        name="cancel",
    ),
    path(
        "support/account/payments/<int:payment_id>/receipt/",
        account_views.receipt_resend,
        name="receipt-resend",
    ),
    path(
        "support/demo-checkout/<stripe_id:session_id>/", views.demo_checkout, name="demo-checkout"
    ),
    path(
        "support/demo-checkout/<stripe_id:session_id>/authenticate/",
        views.demo_authenticate,
        name="demo-authenticate",
    ),
    path("support/demo-portal/", account_views.demo_portal, name="demo-portal"),
    path("support/<slug:slug>/", views.support, name="support"),
]
