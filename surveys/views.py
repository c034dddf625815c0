"""Public pages: the survey, its thank-you page with the draw entry, the draw's proof, the
confirmation and claim pages reached from e-mails."""

import json
import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST

from antiabuse import client_ip
from antiabuse.challenge import TOKEN_FIELD, challenge_verify
from antiabuse.origin import csrf_exempt_guarded
from antiabuse.ratelimit import EmailRateLimit, RateLimit
from config.security_headers import csp_frame_ancestors
from surveys import proof, selectors
from surveys.definition import page_first_unanswered
from surveys.forms import PUBLISH_WORDING, ClaimForm, EntryForm, SurveyPageForm
from surveys.models import DrawPlacement, PrizeDraw, Survey, SurveyVersion
from surveys.served import ServedSurvey, served_surveys
from surveys.services import draws as draw_services
from surveys.services import entries as entry_services
from surveys.services import surveys as survey_services
from surveys.tokens import claim_token_read, confirmation_token_read

DRAFT_COOKIE = "rs_survey_{slug}"
DRAFT_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{6,64}")
DRAFT_COOKIE_AGE = 60 * 60 * 24 * 30
MARKETING_WORDING = gettext_lazy(
    "Yes, send me occasional e-mails about our journalism and ways to support it."
)
COUNTRIES = [
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("NL", "Netherlands"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("AU", "Australia"),
]


def _ip_limit() -> RateLimit:
    return RateLimit("surveys-ip", settings.SURVEYS_RATE_LIMIT_PER_IP, 3600)


def _email_limit() -> EmailRateLimit:
    return EmailRateLimit("surveys-email", settings.SURVEYS_RATE_LIMIT_PER_EMAIL, 3600)


def embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the publisher's sites (and this site) show the page in an iframe, and nobody else.

    These pages are also exempt from CSRF cookies: inside a cross-site iframe the browser does
    not send a SameSite=Lax cookie, and the forms change nothing of the reader's but their own
    anonymous answers (entries still need the e-mailed confirmation).
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        csp_frame_ancestors(response, ["'self'", *settings.PUBLISHER_ORIGINS])
        return response

    return xframe_options_exempt(csrf_exempt_guarded(wrapped))


def _served(slug: str) -> ServedSurvey:
    served = served_surveys.get(slug)
    if served is None:
        raise Http404("no such survey")
    return served


def _open_survey(slug: str) -> Survey:
    return _served(slug).survey


def _draft_token(request: HttpRequest, survey: Survey) -> str:
    """Return the reader's draft token if it has the shape we issue, else an empty string."""
    token = (
        request.POST.get("draft")
        or request.GET.get("draft")
        or request.COOKIES.get(DRAFT_COOKIE.format(slug=survey.slug))
        or ""
    )
    return token if DRAFT_TOKEN_SHAPE.fullmatch(token) else ""


def _remember(response: HttpResponse, survey: Survey, token: str, request: HttpRequest) -> None:
    response.set_cookie(
        DRAFT_COOKIE.format(slug=survey.slug),
        token,
        max_age=DRAFT_COOKIE_AGE,
        httponly=True,
        samesite="None" if request.is_secure() else "Lax",
        secure=request.is_secure(),
    )


@embeddable
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, slug: str) -> HttpResponse:
    served = _served(slug)
    survey = served.survey
    if survey.status != Survey.Status.OPEN:
        return render(request, "surveys/closed.html", {"survey": survey}, status=410)
    token = _draft_token(request, survey)
    if request.method == "POST" and served.version is not None:
        started = _new_readers_first_page(request, survey, served.version, token)
        if started is not None:
            return started
    draft = selectors.draft_of_reader(survey=survey, token=token)
    if draft is not None and draft.response_id is not None:
        return redirect(_with_draft(reverse("surveys:thanks", args=[slug]), token))
    version = served.version
    if draft is not None and (version is None or draft.version_id != version.pk):
        version = SurveyVersion.objects.get(pk=draft.version_id)  # the one this reader answers
    if version is None:
        return render(request, "surveys/closed.html", {"survey": survey}, status=410)
    if not token:
        token = survey_services.draft_token_new()
    pages = version.definition["pages"]
    page_number = draft.page if draft else 1
    if request.method == "POST":
        try:
            page_number = int(request.POST.get("page", page_number))
        except ValueError:
            page_number = 1
    page_number = min(max(page_number, 1), len(pages))
    earlier = dict(draft.answers) if draft else {}
    notice = ""
    if request.method == "POST" and "back" not in request.POST:
        unanswered = page_first_unanswered(version.definition, earlier, before=page_number)
        if unanswered is not None:
            # The draft expired (SURVEYS_DRAFT_DAYS) or a page was skipped: this page's answers
            # cannot make a whole response, so the reader answers the earlier page first.
            page_number = unanswered
            notice = _(
                "We no longer have your answers to the earlier questions. Please answer them again."
            )
    form_kwargs = {
        "questions": pages[page_number - 1]["questions"],
        "earlier_answers": earlier,
        "reader_token": token,
    }
    if request.method == "POST" and "back" in request.POST:
        if draft is not None and page_number > 1:
            draft.page = page_number - 1
            draft.save(update_fields=["page", "updated_at"])
        return redirect(_with_draft(request.path, token))
    if request.method == "POST" and not notice:
        form = SurveyPageForm(request.POST, prefix=None, **form_kwargs)
        if form.is_valid():
            last = page_number == len(pages)
            if last and not _ip_limit().allow(client_ip(request)):
                form.add_error(None, _("Too many answers from your network. Try again later."))
            else:
                page_save: dict[str, Any] = {
                    "survey": survey,
                    "token": token,
                    "page": page_number,
                    "page_answers": form.page_answers,
                    "attribution": survey_services.attribution_clean(request.GET),
                    "version": version,
                }
                try:
                    if last:
                        survey_services.draft_submit(
                            **page_save, seen=draft, expect_new=draft is None
                        )
                    else:
                        survey_services.draft_page_save(
                            **page_save, next_page=page_number + 1, expect_new=draft is None
                        )
                except survey_services.SurveyError as error:
                    form.add_error(None, str(error))
                else:
                    target = reverse("surveys:thanks", args=[slug]) if last else request.path
                    response = redirect(_with_draft(target, token))
                    _remember(response, survey, token, request)
                    return response
    else:
        form = SurveyPageForm(initial=earlier, **form_kwargs)
    context = {
        "survey": survey,
        "form": form,
        "token": token,
        "page_number": page_number,
        "page_count": len(pages),
        "is_last": page_number == len(pages),
        "notice": notice,
        "conditions": json.dumps(
            {q["key"]: q["show_if"] for q in pages[page_number - 1]["questions"] if q["show_if"]}
        ),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "surveys/survey.html", context, status=status)


def _new_readers_first_page(
    request: HttpRequest, survey: Survey, version: SurveyVersion, token: str
) -> HttpResponse | None:
    """Store a new reader's first page with one INSERT, reading nothing before it (most first
    pages of a burst are new readers'), and answer it; None when that does not apply (not the
    first page of several, answers with errors, a token that has a draft already): the usual
    path then reads the reader's draft and answers."""
    pages = version.definition["pages"]
    if len(pages) < 2 or request.POST.get("page") != "1" or "back" in request.POST:
        return None
    token = token or survey_services.draft_token_new()
    form = SurveyPageForm(
        request.POST,
        prefix=None,
        questions=pages[0]["questions"],
        earlier_answers={},
        reader_token=token,
    )
    if not form.is_valid():
        return None
    draft = survey_services.draft_start(
        survey=survey,
        token=token,
        version=version,
        page_answers=form.page_answers,
        next_page=2,
        attribution=survey_services.attribution_clean(request.GET),
    )
    if draft is None:
        return None
    response = redirect(_with_draft(request.path, token))
    _remember(response, survey, token, request)
    return response


def _with_draft(path: str, token: str) -> str:
    return f"{path}?{urlencode({'draft': token})}"


def _entry_form(draw: PrizeDraw, data: Any = None) -> EntryForm:
    countries = COUNTRIES
    allowed = draw.country_codes()
    if allowed:
        known = dict(COUNTRIES)
        countries = [(code, known.get(code, code)) for code in allowed]
    return EntryForm(
        data,
        countries=countries,
        minimum_age=draw.minimum_age,
        marketing_wording=str(MARKETING_WORDING),
    )


@embeddable
def survey_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    survey = _open_survey(slug)
    draw = selectors.draw_current(survey=survey)
    token = _draft_token(request, survey)
    entering = draw is not None and entry_services.draw_accepts_entries(draw)
    context = {
        "survey": survey,
        "draw": draw,
        "token": token,
        "form": _entry_form(draw) if entering and draw else None,
        "terms": draw.terms.order_by("-version").first() if draw else None,
    }
    return render(request, "surveys/thanks.html", context)


@embeddable
@require_POST
def draw_enter(request: HttpRequest, slug: str) -> HttpResponse:
    survey = _open_survey(slug)
    draw = selectors.draw_current(survey=survey)
    if draw is None or not entry_services.draw_accepts_entries(draw):
        return render(request, "surveys/entry_closed.html", {"survey": survey}, status=410)
    form = _entry_form(draw, request.POST)
    token = _draft_token(request, survey)
    if form.is_valid():
        email = form.cleaned_data["email"]
        ip = client_ip(request)
        if not challenge_verify(token=request.POST.get(TOKEN_FIELD, ""), remote_ip=ip):
            form.add_error(None, _("Please complete the check that you are not a robot."))
        elif not _ip_limit().allow(ip) or not _email_limit().allow(email):
            form.add_error(None, _("Too many entries at once. Please try again in an hour."))
        else:
            try:
                entry_services.entry_create(
                    draw=draw,
                    email=email,
                    country=form.cleaned_data["country"],
                    age_confirmed=form.cleaned_data["age_confirmed"],
                    consents=entry_services.Consents(
                        marketing=form.cleaned_data["marketing"],
                        marketing_wording=str(MARKETING_WORDING),
                        publish_name=form.cleaned_data["publish_name"],
                        publish_wording=str(PUBLISH_WORDING),
                    ),
                    draft_token=token,
                )
            except entry_services.EntryError as error:
                form.add_error(error.field, str(error))
            else:
                return render(
                    request,
                    "surveys/entry_sent.html",
                    {
                        "survey": survey,
                        "draw": draw,
                        "resend_minutes": settings.SURVEYS_CONFIRMATION_RESEND_SECONDS // 60,
                    },
                )
    context = {
        "survey": survey,
        "draw": draw,
        "token": token,
        "form": form,
        "terms": draw.terms.order_by("-version").first(),
    }
    return render(request, "surveys/thanks.html", context, status=400)


def draw_page(request: HttpRequest, slug: str, draw_id: int | None = None) -> HttpResponse:
    survey = _open_survey(slug)
    if draw_id is None:
        draw = selectors.draw_current(survey=survey)
        if draw is None:
            raise Http404("no draw")
    else:
        draw = get_object_or_404(
            PrizeDraw.objects.exclude(status="draft"), pk=draw_id, survey=survey
        )
    context = {
        "survey": survey,
        "draw": draw,
        "prizes": list(draw.prizes.all()),
        "terms": draw.terms.order_by("-version").first(),
        "winners": selectors.draw_public_winners(draw=draw),
    }
    return render(request, "surveys/draw.html", context)


def draw_proof(request: HttpRequest, slug: str, draw_id: int) -> HttpResponse:
    draw = get_object_or_404(PrizeDraw, pk=draw_id, survey__slug=slug)
    if not draw.seed_revealed:
        raise Http404("not drawn yet")
    response = JsonResponse(selectors.draw_proof_bundle(draw=draw), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="draw-{draw.pk}-proof.json"'
    return response


def draw_entries(request: HttpRequest, slug: str, draw_id: int) -> HttpResponse:
    """Publish the frozen entry ids once entries closed, so an entrant can find theirs and
    anyone can check them against the fingerprint published at close."""
    draw = get_object_or_404(PrizeDraw, pk=draw_id, survey__slug=slug)
    if not draw.entries_fingerprint:
        raise Http404("entries not closed yet")
    ids = sorted(selectors.frozen_entry_ids(draw=draw))
    body = {"entries_fingerprint": draw.entries_fingerprint, "entries": ids}
    return JsonResponse(body)


def draw_verifier(request: HttpRequest) -> HttpResponse:
    """Offer the draw's arithmetic as one standard-library Python file (`python file b.json`)."""
    response = HttpResponse(VERIFIER_SOURCE, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verify_draw.py"'
    return response


VERIFIER_SOURCE = Path(proof.__file__).read_bytes()


@require_http_methods(["GET", "POST"])
def entry_confirm(request: HttpRequest, token: str) -> HttpResponse:
    public_id = confirmation_token_read(token)
    if public_id is None:
        return render(
            request,
            "surveys/message.html",
            {"message": _("This confirmation link is not valid.")},
            status=404,
        )
    entry = selectors.entry_by_public_id(public_id=public_id)
    if entry is None:
        return render(
            request,
            "surveys/message.html",
            {"message": _("This confirmation link is not valid.")},
            status=404,
        )
    if request.method == "POST":
        try:
            entry = entry_services.entry_confirm(public_id=public_id)
        except entry_services.EntryError as error:
            return render(request, "surveys/message.html", {"message": str(error)}, status=409)
        messages.success(request, _("Your entry is confirmed. Good luck!"))
        return redirect("surveys:entry-confirm", token=token)
    return render(request, "surveys/confirm.html", {"entry": entry, "draw": entry.draw})


@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, token: str) -> HttpResponse:
    parsed = claim_token_read(token)
    placement = (
        DrawPlacement.objects.select_related("draw__survey", "prize").filter(pk=parsed[0]).first()
        if parsed
        else None
    )
    if parsed is None or placement is None or placement.claim_nonce != parsed[1]:
        return render(
            request,
            "surveys/message.html",
            {"message": _("This claim link is not valid.")},
            status=404,
        )
    form = ClaimForm(
        request.POST or None,
        initial={"publish_name": selectors.entry_agreed_to_publication(placement)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            draw_services.placement_claim(
                placement_id=placement.pk,
                nonce=parsed[1],
                first_name=form.cleaned_data["first_name"],
                county=form.cleaned_data["county"],
                publish_name=form.cleaned_data["publish_name"],
            )
        except draw_services.DrawError as error:
            return render(request, "surveys/message.html", {"message": str(error)}, status=409)
        return redirect("surveys:claim", token=token)
    placement.refresh_from_db()
    context = {"placement": placement, "draw": placement.draw, "form": form}
    return render(request, "surveys/claim.html", context, status=400 if form.errors else 200)
