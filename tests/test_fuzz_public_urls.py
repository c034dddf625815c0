"""Junk to every public URL pattern answers 4xx (or a normal page), never 5xx (issue 11).

The patterns come from the URLconf, so a new one is fuzzed without being listed here. For each,
Hypothesis picks a method, path parameters (real ids of the seeded campaign, survey and demo
checkout, or junk), a query string, headers and a body (a form, JSON, raw binary bytes, invalid
percent-escapes) built from odd Unicode, NUL bytes, non-UTF-8 bytes and numbers out of range,
sent as forms to JSON endpoints and as JSON to forms. Half the requests come from the seeded
supporter signed in to their account pages. Each request runs in a savepoint that is rolled
back, so examples do not see each other's rows and nothing is enqueued.

The junk run keeps to a time budget (`FUZZ_SECONDS`, default 45, shared by the patterns);
`FUZZ_EXAMPLES` (default 40) caps the examples per pattern.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import time
from urllib.parse import quote

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.account_views import SESSION_KEY
from payments.models import Contribution
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from surveys.tests.factories import draw_create, survey_create

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "45"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
HUGE = 3 * 1024 * 1024  # above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
FORM = "application/x-www-form-urlencoded"


def public_patterns() -> dict[str, list[str]]:
    """Every URL pattern outside the admin (whose only public page, the login, is added), with
    the names its view's module mentions (the parameters it most likely reads)."""
    routes: dict[str, list[str]] = {}

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name != "admin":
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                routes[prefix + str(pattern.pattern)] = _names_in(pattern.callback)

    walk(get_resolver().url_patterns, "")
    routes["admin/login/"] = ["username", "password", "next"]
    return routes


def _names_in(view: object) -> list[str]:
    """The quoted names in the view function's own source: the parameters it reads."""
    try:
        source = inspect.getsource(inspect.unwrap(view))  # type: ignore[arg-type]
    except (TypeError, OSError):
        return []
    return sorted(set(re.findall(r"[\"']([a-z][a-z0-9_]{1,30})[\"']", source)))


NAMES_READ = public_patterns()
PATTERNS = list(NAMES_READ)
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")

# --- Junk ----------------------------------------------------------------------------------------

NASTY = [
    "\x00",
    "a\x00b",
    "%00",
    "\u202e\u200b\ufeff",
    "\ufb00\uff1d\uff0b\uff0d\uff20\ufe66",
    "\U0001f4a9" * 30,
    "'\"<script>alert(1)</script>",
    "../../etc/passwd",
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    str(2**63),
    str(-(2**63) - 1),
    "9" * 400,
    "1.0000000000000000001",
    " ",
    "",
    "x" * 5000,
    "javascript:alert(1)",
    "reader+tag@example.org",
    "@",
]
text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats().map(str),
)
# Raw query or form text, percent-escaped except for deliberate broken escapes and non-UTF-8.
raw_escape = st.sampled_from(["%ff", "%fe%ff", "%", "%zz", "%c3%28", "%ed%a0%80", "%00", "+"])
encoded = st.one_of(raw_escape, text.map(lambda value: quote(value, safe="")))

# The support, entry, sign-in, demo checkout and survey forms, and the query parameters the
# pages and the embed API read.
FIELD_NAMES = """
frequency amount custom_amount cover_fees email name marketing_consent variant placement article
referrer utm_source utm_medium utm_campaign utm_content utm_term website country age_confirmed
accept_terms marketing publish_name card_number decision draft page back often topics
topics__other score member why cf-turnstile-response session_id placements section tags url
device rid returning supporter reads history preview return campaign reason first_name county
object_to_publication username password next
"""
field = st.sampled_from(FIELD_NAMES.split())


def _form_fields() -> list[str]:
    """The fields of every form class the project defines (and Django's own, the login's)."""
    import surveys.forms  # noqa: F401 - defines the forms

    names: set[str] = set()
    classes: list[type] = [forms.Form, forms.ModelForm]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        names.update(getattr(cls, "base_fields", {}))
    return sorted(name for name in names if re.fullmatch(r"[a-z][a-z0-9_]*", name))


FORM_FIELDS = [name for name in _form_fields() if name not in {"id"}][:80]


def queries(names: list[str]) -> st.SearchStrategy[str]:
    """Query strings (or urlencoded bodies): each name the view reads present or not, with junk,
    and a few of the other names any of our views reads."""
    read = st.fixed_dictionaries({}, optional={name: encoded for name in names + FORM_FIELDS})
    others = st.lists(st.tuples(field, encoded), max_size=3)
    return st.tuples(read, others).map(
        lambda both: "&".join(f"{name}={value}" for name, value in [*both[0].items(), *both[1]])
    )


json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(),
        text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(field, text), children, max_size=4),
    ),
    max_leaves=12,
)
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=xyz",
    "application/json",
    "text/plain",
    "text/plain; charset=utf-16",
    "application/x-www-form-urlencoded; charset=klingon",
    "application/octet-stream",
    "",
]


def bodies(names: list[str]) -> st.SearchStrategy[tuple[bytes, str]]:
    return st.one_of(
        st.tuples(
            queries(names).map(str.encode),
            st.sampled_from(["application/x-www-form-urlencoded", "application/json"]),
        ),
        other_bodies,
    )


other_bodies = st.one_of(
    st.tuples(
        json_value.map(lambda value: json.dumps(value).encode()),
        st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
    ),
    st.tuples(st.binary(max_size=512), st.sampled_from(CONTENT_TYPES)),
    st.tuples(
        st.sampled_from([b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * 100_000, b"\xff\xfe\x00"]),
        st.sampled_from(CONTENT_TYPES),
    ),
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ORIGINS = [None, "null", "http://testserver", "https://evil.example"]

# --- The run -------------------------------------------------------------------------------------


@pytest.fixture
def seeded(campaign, settings):
    """The ids a reader could really have: a live campaign, an open survey with a draw, and a
    demo checkout session. Rate limits are lifted so that junk reaches the code behind them."""
    settings.PAYMENTS_CHECKOUT_LIMIT_PER_IP = settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL = 10**6
    settings.SURVEYS_RATE_LIMIT_PER_IP = settings.SURVEYS_RATE_LIMIT_PER_EMAIL = 10**6
    survey = survey_create()
    draw = draw_create(survey=survey)
    Client().post(
        f"/support/{campaign.slug}/",
        {"frequency": "one_off", "amount": "1000", "email": "seed@example.org", "website": ""},
    )
    contribution = Contribution.objects.get()
    signed_in.append(contribution.supporter_id)
    return {
        "slug": [campaign.slug, survey.slug],
        "int": [str(draw.pk), str(contribution.pk)],
        "stripe_id": [contribution.stripe_checkout_session_id],
        "token": ["abc"],
    }


_started: list[float] = []
signed_in: list[int] = []


def _clients() -> tuple[Client, Client]:
    """A reader's browser, and the seeded supporter's, signed in to their account pages."""
    anonymous = Client(raise_request_exception=False)
    supporter = Client(raise_request_exception=False)
    session = supporter.session
    session[SESSION_KEY] = signed_in[-1]
    session.save()
    return anonymous, supporter


def _out_of_time(share: float) -> bool:
    if not _started:
        _started.append(time.monotonic())
    return time.monotonic() - _started[0] > share


def _path(route: str, values: dict[str, list[str]], draw: st.DataObject) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return draw.draw(st.one_of(st.sampled_from(values.get(converter, ["x"])), encoded))

    return "/" + PARAMETER.sub(fill, route)


def _send(client: Client, method: str, path: str, payload: bytes, content_type: str, origin):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    with transaction.atomic():
        response = client.generic(method, path, payload, content_type=content_type, **headers)
        transaction.set_rollback(True)  # nothing an example wrote is seen by the next one
    return response


@pytest.mark.parametrize("route", PATTERNS)
def test_junk_to_every_public_url_pattern_is_never_a_server_error(route, seeded):
    clients = _clients()
    index = PATTERNS.index(route)
    # Each pattern's time runs out at its share of the budget, so later patterns keep theirs.
    share = BUDGET_SECONDS * (index + 1) / len(PATTERNS)
    failed: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        draw=st.data(),
        method=st.sampled_from(METHODS),
        query_string=queries(NAMES_READ[route]),
        payload=bodies(NAMES_READ[route]),
        origin=st.sampled_from(ORIGINS),
        as_supporter=st.booleans(),
    )
    def run(draw, method, query_string, payload, origin, as_supporter):
        path = _path(route, seeded, draw)  # every draw first: a replay must draw the same
        if not failed and _out_of_time(share):
            return  # out of time: the remaining examples are generated but not sent
        if query_string:
            path += "?" + query_string
        data, content_type = payload
        response = _send(clients[as_supporter], method, path, data, content_type, origin)
        if response.status_code >= 500:
            failed.append(path)  # shrink and report it, however long that takes
        assert response.status_code < 500, (method, path, content_type, data[:200])

    run()


def test_a_huge_body_to_every_public_url_pattern_is_refused_not_a_crash(seeded):
    client = Client(raise_request_exception=False)
    crashed = []
    for route in PATTERNS:
        path = "/" + PARAMETER.sub(lambda m: seeded.get(m.group(1) or "str", ["x"])[0], route)
        for data, content_type in [
            (b"email=" + b"a" * HUGE, FORM),
            (b'{"a": "' + b"a" * HUGE + b'"}', "application/json"),
            (b"&" * 20_000, FORM),  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
        ]:
            response = _send(client, "POST", path, data, content_type, None)
            if response.status_code >= 500:
                crashed.append((path, content_type, response.status_code))
    assert crashed == []


def test_a_nul_byte_in_every_parameter_is_never_a_server_error(seeded):
    """The one junk byte PostgreSQL refuses outright, in every place at once: each path
    parameter, and every name the view reads, in the query string and in the body."""
    client = _clients()[1]
    assert "Signed in as" in client.get("/support/account/").content.decode()
    crashed = []
    for route in PATTERNS:
        path = "/" + PARAMETER.sub("a%00b", route)
        pairs = "&".join(f"{name}=a%00b" for name in NAMES_READ[route] + FORM_FIELDS)
        real = "/" + PARAMETER.sub(lambda m: seeded.get(m.group(1) or "str", ["x"])[0], route)
        for method in ("GET", "POST"):
            for target in (path, f"{real}?{pairs}"):
                response = _send(client, method, target, pairs.encode(), FORM, None)
                if response.status_code >= 500:
                    crashed.append((method, target[:120], response.status_code))
    assert crashed == []
