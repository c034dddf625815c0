"""Reader-facing pages: support form, checkout, thank-you, demo checkout, and the webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST

from antiabuse import client_ip
from antiabuse.challenge import TOKEN_FIELD, challenge_verify
from antiabuse.origin import csrf_exempt_guarded
from antiabuse.ratelimit import EmailRateLimit, RateLimit
from antiabuse.reader_urls import reader_url_clean
from campaigns.models import Campaign
from config.security_headers import STRIPE_CHECKOUT_SOURCES, csp_extend, csp_frame_ancestors
from config.url_ids import query_stripe_id, slug_or_empty
from payments.demo_provider.checkout import (
    demo_checkout_authenticate,
    demo_checkout_pay,
    demo_checkout_session,
)
from payments.forms import (
    SupportForm,
    amounts_offered,
    attribution_from,
    campaign_frequencies,
    frequencies_offered,
    presets_offered,
    variant_offered,
)
from payments.gateway import GatewayError
from payments.models import Contribution
from payments.money import fee_cover_minor, money_format
from payments.services import Attribution, checkout_session_open, contribution_start
from payments.webhooks import WebhookRejected, webhook_event_receive

logger = logging.getLogger(__name__)

FALLBACK_SALT = "payments.checkout-hosted"
BUSY_MESSAGE = (
    "We have received many attempts from your connection or for this e-mail address. "
    "Please wait a while and try again."
)


def embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the publisher's pages show this page in an iframe (and only theirs, when configured).

    Inside a cross-site iframe the browser withholds our SameSite cookies, so the CSRF check
    cannot work there; these pages hold no signed-in state to protect, and the abuse defences
    (rate limits, honeypot, challenge) guard them instead.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        csp_frame_ancestors(response, ["'self'", *settings.PUBLISHER_ORIGINS])
        return response

    return xframe_options_exempt(csrf_exempt_guarded(wrapper))


def checkout_limits() -> tuple[RateLimit, RateLimit]:
    window = settings.PAYMENTS_LIMIT_WINDOW_SECONDS
    return (
        RateLimit("payments-checkout-ip", settings.PAYMENTS_CHECKOUT_LIMIT_PER_IP, window),
        EmailRateLimit(
            "payments-checkout-email", settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL, window
        ),
    )


def _live_campaign(slug: str, *, with_variants: bool) -> Campaign | None:
    """Return the live campaign; `with_variants` brings its variants along (one query), for a
    reader who came from an A/B variant: the page reads it for its amounts and copy."""
    campaigns = Campaign.objects.filter(slug=slug, status=Campaign.Status.LIVE)
    return (campaigns.prefetch_related("variants") if with_variants else campaigns).first()


def _initial(campaign: Campaign, request: HttpRequest) -> dict[str, object]:
    attribution = attribution_from(request.GET)
    amounts = amounts_offered(campaign, attribution["variant"])
    frequencies = frequencies_offered(amounts)
    frequency = request.GET.get("frequency", "")
    if frequency not in frequencies:
        frequency = frequencies[0] if frequencies else ""
    presets, default = presets_offered(amounts, frequency) if frequency else ([], None)
    initial: dict[str, object] = {"frequency": frequency, "amount": default}
    asked = request.GET.get("amount", "")
    if asked.isdecimal():
        if int(asked) in presets:
            initial["amount"] = int(asked)
        else:
            low, high = settings.PAYMENTS_AMOUNT_LIMITS.get(campaign.currency, (100, 500000))
            if low <= int(asked) <= high:
                initial["amount"] = "custom"
                initial["custom_amount"] = f"{int(asked) / 100:.2f}"
    initial.update(attribution)
    if not initial.get("referrer"):
        initial["referrer"] = reader_url_clean(request.META.get("HTTP_REFERER", ""))
    return initial


def _support_context(campaign: Campaign, form: SupportForm, error: str = "") -> dict[str, object]:
    options: list[dict[str, Any]] = []
    for frequency in frequencies_offered(form.amounts):
        presets, default = presets_offered(form.amounts, frequency)
        options.append(
            {
                "frequency": frequency,
                "default": default,
                "presets": [
                    {
                        "minor": p,
                        "label": money_format(p, campaign.currency),
                        "fee": money_format(fee_cover_minor(p), campaign.currency),
                    }
                    for p in presets
                ],
            }
        )
    examples = [f"{p['label']} adds {p['fee']}" for p in options[0]["presets"]] if options else []
    variant_key = slug_or_empty(form["variant"].value())  # what the reader sent, not yet valid
    variant = variant_offered(campaign, variant_key)
    return {
        "campaign": campaign,
        "why": campaign.why_text(body=variant.body if variant else ""),
        "form": form,
        "error_summary": _error_summary(form),
        "fee_examples": ", ".join(examples),
        "fee_fixed_text": money_format(settings.PAYMENTS_FEE_COVER_FIXED_MINOR, campaign.currency),
        "options": options,
        "error": error,
        "demo": settings.PAYMENTS_DEMO,
        "fee_percent": settings.PAYMENTS_FEE_COVER_PERCENT,
        "fee_fixed": settings.PAYMENTS_FEE_COVER_FIXED_MINOR,
        "symbol": money_format(0, campaign.currency).replace("0.00", "").strip(),
    }


# Where each field's message in the error summary takes the reader (the field's id).
ERROR_ANCHORS = {
    "frequency": "rs-frequency",
    "amount": "rs-amount",
    "custom_amount": "id_custom_amount",
    "email": "id_email",
    "name": "id_name",
}


def _error_summary(form: SupportForm) -> list[tuple[str, str]]:
    """Return (anchor, message) for every error, in the order of the form, for the summary."""
    if not form.is_bound:
        return []
    summary = [("", str(message)) for message in form.non_field_errors()]
    for name, anchor in ERROR_ANCHORS.items():
        summary.extend((anchor, str(message)) for message in form.errors.get(name, []))
    return summary


def _support_page(
    request: HttpRequest, campaign: Campaign, form: SupportForm, error: str = "", status: int = 200
) -> HttpResponse:
    context = _support_context(campaign, form, error)
    return render(request, "payments/support.html", context, status=status)


@never_cache
@embeddable
@require_http_methods(["GET", "POST"])
def support(request: HttpRequest, slug: str) -> HttpResponse:
    """The support page of a campaign: choose, validate, then go to checkout."""
    sent = request.POST if request.method == "POST" else request.GET
    campaign = _live_campaign(slug, with_variants=bool(sent.get("variant")))
    if campaign is None or not campaign_frequencies(campaign):
        return render(request, "payments/unavailable.html", status=404)
    if request.method == "GET":
        form = SupportForm(initial=_initial(campaign, request), campaign=campaign)
        return _support_page(request, campaign, form)

    form = SupportForm(request.POST, campaign=campaign)
    by_ip, by_email = checkout_limits()
    ip = client_ip(request)
    if not by_ip.allow(ip):
        return render(
            request,
            "payments/support.html",
            _support_context(campaign, form, BUSY_MESSAGE),
            status=429,
        )
    if not form.is_valid():
        return render(
            request, "payments/support.html", _support_context(campaign, form), status=400
        )
    data = form.cleaned_data
    if not by_email.allow(data["email"]):
        return render(
            request,
            "payments/support.html",
            _support_context(campaign, form, BUSY_MESSAGE),
            status=429,
        )
    if not challenge_verify(token=request.POST.get(TOKEN_FIELD, ""), remote_ip=ip):
        error = "Please complete the check that you are not a robot, then try again."
        return render(
            request, "payments/support.html", _support_context(campaign, form, error), status=400
        )
    try:
        started = contribution_start(
            campaign=campaign,
            frequency=data["frequency"],
            amount_minor=data["amount_minor"],
            cover_fees=data["cover_fees"],
            email=data["email"],
            name=data["name"],
            marketing_consent=data["marketing_consent"],
            attribution=Attribution(
                variant_key=data["variant"],
                placement=data["placement"],
                article_url=data["article"],
                referrer=data["referrer"],
                utm_source=data["utm_source"],
                utm_medium=data["utm_medium"],
                utm_campaign=data["utm_campaign"],
                utm_content=data["utm_content"],
                utm_term=data["utm_term"],
            ),
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except GatewayError:
        logger.warning("checkout session could not be created", exc_info=True)
        error = "Payments are not available right now. Nothing was charged; please try again soon."
        return render(
            request, "payments/support.html", _support_context(campaign, form, error), status=503
        )
    session = started.session
    if session.ui_mode == "embedded_page" and session.client_secret:
        page = render(
            request,
            "payments/checkout_embedded.html",
            {
                "campaign": campaign,
                "client_secret": session.client_secret,
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
                "fallback": signing.dumps(started.contribution.pk, salt=FALLBACK_SALT),
            },
        )
        return csp_extend(page, STRIPE_CHECKOUT_SOURCES)
    assert session.url
    return redirect(session.url)


@never_cache
@embeddable
@require_POST
def checkout_hosted(request: HttpRequest, token: str) -> HttpResponse:
    """Fallback: pay on Stripe's own page when the embedded form cannot load."""
    try:
        contribution_id = signing.loads(token, salt=FALLBACK_SALT, max_age=3600)
    except signing.BadSignature:
        return render(request, "payments/unavailable.html", status=404)
    contribution = (
        Contribution.objects.select_related("supporter", "campaign")
        .filter(pk=contribution_id)
        .first()
    )
    if contribution is None:
        return render(request, "payments/unavailable.html", status=404)
    try:
        session = checkout_session_open(
            contribution=contribution,
            ui_mode="hosted_page",
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except GatewayError as error:
        return render(request, "payments/unavailable.html", {"message": str(error)}, status=409)
    assert session.url
    return redirect(session.url)


@never_cache
@embeddable
def thanks(request: HttpRequest) -> HttpResponse:
    """Thank the reader and set the supporter marker (link fragment and postMessage)."""
    session_id = query_stripe_id(request.GET, "session_id")
    contribution = (
        Contribution.objects.select_related("campaign", "supporter")
        .filter(stripe_checkout_session_id=session_id)
        .first()
        if session_id
        else None
    )
    if contribution is None:
        return render(request, "payments/thanks_unknown.html", status=404)
    status = _thanks_status(contribution)
    article = reader_url_clean(contribution.article_url)
    back = article.partition("#")[0] + "#rs-supporter" if article else ""
    # Card payments are confirmed within seconds: the page asks again quietly for a short while
    # (static/payments/thanks.js) and announces the result; it never reloads itself.
    recent = timezone.now() - contribution.created_at < timedelta(minutes=2)
    return render(
        request,
        "payments/thanks.html",
        {
            "contribution": contribution,
            "amount": money_format(contribution.charge_minor, contribution.currency),
            "confirmed": status == "confirmed",
            "failed": status == "failed",
            "article_link": back,
            "poll": recent and status == "processing",
        },
    )


def _thanks_status(contribution: Contribution) -> str:
    if contribution.status in (Contribution.Status.FAILED, Contribution.Status.EXPIRED):
        return "failed"
    return "confirmed" if contribution.first_paid_at is not None else "processing"


@never_cache
def thanks_status(request: HttpRequest) -> JsonResponse:
    """Answer the thank-you page's quiet question: is the payment confirmed yet?"""
    session_id = query_stripe_id(request.GET, "session_id")
    contribution = (
        Contribution.objects.filter(stripe_checkout_session_id=session_id).first()
        if session_id
        else None
    )
    if contribution is None:
        return JsonResponse({"error": "No contribution has this checkout session."}, status=404)
    return JsonResponse({"status": _thanks_status(contribution)})


@csrf_exempt_guarded
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Receive a Stripe event: verify, store once, answer fast; a worker applies it."""
    try:
        intake = webhook_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except WebhookRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"received": intake.event_id, "duplicate": not intake.created})


# --- Demo provider -------------------------------------------------------------------------------


def _demo_session(session_id: str) -> dict[str, object]:
    if not settings.PAYMENTS_DEMO:
        raise Http404("The demo provider is off.")
    session = demo_checkout_session(session_id=session_id)
    if session is None:
        raise Http404("No such demo checkout.")
    return session


@never_cache
@embeddable
@require_http_methods(["GET", "POST"])
def demo_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """A local stand-in for Stripe Checkout that accepts Stripe's test cards."""
    session = _demo_session(session_id)
    error = ""
    if request.method == "POST":
        outcome = demo_checkout_pay(
            session_id=session_id, card_number=request.POST.get("card_number", "")[:40]
        )
        if outcome.redirect_url:
            return redirect(outcome.redirect_url)
        if outcome.needs_authentication:
            return redirect("payments:demo-authenticate", session_id=session_id)
        error = outcome.error
    amount = int(str(session["amount_total"]))
    currency = str(session["currency"]).upper()
    return render(
        request,
        "payments/demo_checkout.html",
        {
            "session": session,
            "amount": money_format(amount, currency),
            "recurring": session.get("recurring_interval"),
            "error": error,
        },
        status=402 if error else 200,
    )


@never_cache
@embeddable
@require_http_methods(["GET", "POST"])
def demo_authenticate(request: HttpRequest, session_id: str) -> HttpResponse:
    """The demo's 3-D Secure step: the reader approves or fails the authentication."""
    _demo_session(session_id)
    if request.method == "POST":
        outcome = demo_checkout_authenticate(
            session_id=session_id, approve=request.POST.get("decision") == "approve"
        )
        if outcome.redirect_url:
            return redirect(outcome.redirect_url)
        session = _demo_session(session_id)
        amount = money_format(int(str(session["amount_total"])), str(session["currency"]).upper())
        return render(
            request,
            "payments/demo_checkout.html",
            {"session": session, "amount": amount, "error": outcome.error},
            status=402,
        )
    return render(request, "payments/demo_authenticate.html", {"session_id": session_id})
