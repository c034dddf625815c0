"""Self-service without a password: an e-mailed one-time link, then the supporter's own page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from antiabuse import client_ip
from antiabuse.ratelimit import EmailRateLimit, RateLimit
from antiabuse.reader_urls import reader_url_clean
from branding.mail import site_link
from config.queueing import task_enqueue
from payments.forms import AmountChangeForm, CancelForm, NameForm, SignInRequestForm
from payments.gateway import GatewayError
from payments.models import Contribution, Payment, Supporter
from payments.money import money_format
from payments.services import (
    billing_portal_url,
    sign_in_link_check,
    sign_in_link_create,
    sign_in_link_use,
    subscription_amount_change,
    subscription_cancel,
    supporter_name_change,
)

logger = logging.getLogger(__name__)

SESSION_KEY = "payments_supporter_id"
SENT_MESSAGE = (
    "If this address has given before, a sign-in link is on its way. It works once, for "
    "{minutes} minutes."
)


def _supporter(request: HttpRequest) -> Supporter | None:
    supporter_id = request.session.get(SESSION_KEY)
    return Supporter.objects.filter(pk=supporter_id).first() if supporter_id else None


def _limits() -> tuple[RateLimit, RateLimit]:
    window = settings.PAYMENTS_LIMIT_WINDOW_SECONDS
    return (
        RateLimit("payments-sign-in-ip", settings.PAYMENTS_CHECKOUT_LIMIT_PER_IP, window),
        EmailRateLimit(
            "payments-sign-in-email", settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL, window
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The supporter's contributions, or the form asking for a sign-in link."""
    supporter = _supporter(request)
    if supporter is not None:
        return _account_page(request, supporter)
    form = SignInRequestForm(request.POST or None)
    sent = False
    status = 200
    if request.method == "POST":
        by_ip, by_email = _limits()
        if not by_ip.allow(client_ip(request)):
            form.add_error(None, "Too many attempts. Please wait a while and try again.")
            status = 429
        elif form.is_valid():
            email = form.cleaned_data["email"]
            if by_email.allow(email):
                created = sign_in_link_create(email=email)
                if created is not None:
                    supporter, token = created
                    # SITE_URL, not the Host this request came to: behind a proxy that is an
                    # inner name, and a link in a mail must lead to the public site.
                    url = site_link(reverse("payments:sign-in", args=[token]))
                    _sign_in_email_enqueue(supporter_pk=supporter.pk, url=url)
            sent = True  # the same answer whether or not the address is known
        else:
            status = 400
    return render(
        request,
        "payments/account_sign_in_request.html",
        {
            "form": form,
            "sent": sent,
            "sent_message": SENT_MESSAGE.format(minutes=settings.PAYMENTS_SIGN_IN_LINK_MINUTES),
        },
        status=status,
    )


def _sign_in_email_enqueue(*, supporter_pk: int, url: str) -> None:
    from payments.tasks import sign_in_email_send

    # If the broker is down the reader asks again; nothing else is lost.
    task_enqueue(sign_in_email_send, supporter_pk, url)


def _account_page(request: HttpRequest, supporter: Supporter) -> HttpResponse:
    contributions = (
        supporter.contributions.exclude(status=Contribution.Status.PENDING)
        .select_related("subscription", "campaign")
        .prefetch_related("payments")
        .order_by("-created_at")
    )
    rows = []
    for contribution in contributions:
        subscription = getattr(contribution, "subscription", None)
        rows.append(
            {
                "contribution": contribution,
                "amount": money_format(contribution.charge_minor, contribution.currency),
                "subscription": subscription,
                "can_manage": subscription is not None and subscription.status != "canceled",
                "ends_at": subscription.ends_at if subscription is not None else None,
                "payments": [
                    {
                        "payment": payment,
                        "amount": money_format(payment.gross_minor, payment.currency),
                    }
                    for payment in contribution.payments.all()
                ],
            }
        )
    return render(
        request,
        "payments/account.html",
        {
            "supporter": supporter,
            "rows": rows,
            "demo": settings.PAYMENTS_DEMO,
            "name_form": NameForm(initial={"name": supporter.name}),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, token: str) -> HttpResponse:
    """Opening the link shows a button; only pressing it (a POST) signs in and uses the link."""
    if request.method == "GET":
        valid = sign_in_link_check(token=token) is not None
        return render(
            request, "payments/account_sign_in.html", {"valid": valid}, status=200 if valid else 410
        )
    supporter = sign_in_link_use(token=token)
    if supporter is None:
        return render(request, "payments/account_sign_in.html", {"valid": False}, status=410)
    request.session.cycle_key()
    request.session[SESSION_KEY] = supporter.pk
    return redirect("payments:account")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("payments:account")


def _own_contribution(request: HttpRequest, contribution_id: int) -> tuple[Supporter, Contribution]:
    supporter = _supporter(request)
    if supporter is None:
        raise PermissionError
    contribution = get_object_or_404(
        Contribution.objects.select_related("subscription"),
        pk=contribution_id,
        supporter=supporter,
    )
    return supporter, contribution


@require_http_methods(["GET", "POST"])
def amount_change(request: HttpRequest, contribution_id: int) -> HttpResponse:
    try:
        _, contribution = _own_contribution(request, contribution_id)
    except PermissionError:
        return redirect("payments:account")
    subscription = getattr(contribution, "subscription", None)
    if subscription is None:
        messages.error(request, "Only a monthly or annual contribution has an amount to change.")
        return redirect("payments:account")
    form = AmountChangeForm(request.POST or None, currency=contribution.currency)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_amount_change(
                subscription=subscription, amount_minor=form.cleaned_data["amount"]
            )
        except GatewayError as error:
            form.add_error(None, str(error))
        else:
            amount = money_format(form.cleaned_data["amount"], contribution.currency)
            messages.success(request, f"Done: from your next payment on you give {amount}.")
            return redirect("payments:account")
    return render(
        request,
        "payments/account_amount.html",
        {
            "form": form,
            "contribution": contribution,
            "current": money_format(subscription.amount_minor, subscription.currency),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, contribution_id: int) -> HttpResponse:
    try:
        _, contribution = _own_contribution(request, contribution_id)
    except PermissionError:
        return redirect("payments:account")
    subscription = getattr(contribution, "subscription", None)
    if subscription is None or subscription.status == "canceled":
        messages.info(request, "This contribution has no further payments to cancel.")
        return redirect("payments:account")
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_cancel(subscription=subscription, reason=form.cleaned_data["reason"])
        except GatewayError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, "Your contribution is cancelled; no further payments will be taken."
            )
            return redirect("payments:account")
    return render(
        request, "payments/account_cancel.html", {"form": form, "contribution": contribution}
    )


@require_POST
def name_change(request: HttpRequest) -> HttpResponse:
    """The signed-in supporter sets the name their receipts greet them with (the only way,
    besides a paid checkout, that the supporter's own name changes)."""
    supporter = _supporter(request)
    if supporter is None:
        return redirect("payments:account")
    form = NameForm(request.POST)
    if form.is_valid():
        supporter_name_change(supporter=supporter, name=form.cleaned_data["name"])
        messages.success(request, "Your name is saved.")
    else:
        messages.error(request, "Please give a name of at most 200 characters.")
    return redirect("payments:account")


@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    """Send the supporter to Stripe's Billing Portal to update their payment method."""
    supporter = _supporter(request)
    if supporter is None:
        return redirect("payments:account")
    try:
        url = billing_portal_url(
            supporter=supporter, return_url=request.build_absolute_uri(reverse("payments:account"))
        )
    except GatewayError as error:
        messages.error(request, str(error))
        return redirect("payments:account")
    return redirect(url)


@require_POST
def receipt_resend(request: HttpRequest, payment_id: int) -> HttpResponse:
    supporter = _supporter(request)
    if supporter is None:
        return redirect("payments:account")
    payment = get_object_or_404(
        Payment.objects.select_related("contribution__supporter"),
        pk=payment_id,
        contribution__supporter=supporter,
        status=Payment.Status.SUCCEEDED,
    )
    limit = RateLimit("payments-receipt-resend", 5, settings.PAYMENTS_LIMIT_WINDOW_SECONDS)
    if not limit.allow(str(supporter.pk)):
        messages.error(request, "Too many receipts asked for; please try again later.")
    else:
        from payments.tasks import receipt_resend

        if task_enqueue(receipt_resend, payment.pk):
            messages.success(request, f"The receipt is on its way to {supporter.email}.")
        else:
            messages.error(request, "We could not send the receipt just now; please try again.")
    return redirect("payments:account")


def demo_portal(request: HttpRequest) -> HttpResponse:
    """What stands in for Stripe's Billing Portal in the demo."""
    if not settings.PAYMENTS_DEMO:
        return render(request, "payments/unavailable.html", status=404)
    back = reader_url_clean(request.GET.get("return"))
    if not back.startswith(request.build_absolute_uri("/")):
        back = request.build_absolute_uri(reverse("payments:account"))
    return render(request, "payments/demo_portal.html", {"return_url": back})
