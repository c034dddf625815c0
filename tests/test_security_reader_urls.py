"""Finding 1 of the security review: a reader URL never becomes a script link on our origin.

Every URL a reader gives us is checked when received (on every method) by
`antiabuse.reader_urls.reader_url_clean`, and rendered only through the `reader_url` filter.
"""

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.template import Context, Template

from antiabuse.reader_urls import reader_url_clean
from payments.models import Contribution
from payments.tests.fixtures import campaign_fixture  # noqa: F401
from surveys.models import Response
from surveys.tests.factories import survey_create
from tests.hard_cases import FRIENDLY_URLS, HOSTILE_URLS

SUPPORT = "/support/keep-local-news-open/"


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused(url):
    assert reader_url_clean(url) == ""


@pytest.mark.parametrize("url", FRIENDLY_URLS)
def test_urls_browsers_really_send_are_kept_as_they_are(url):
    assert reader_url_clean(url) == url


@pytest.mark.parametrize("value", [None, 42, b"https://news.example.com/", ["https://x.example/"]])
def test_values_that_are_not_text_are_refused(value):
    assert reader_url_clean(value) == ""


@pytest.mark.parametrize("url", HOSTILE_URLS + FRIENDLY_URLS)
def test_the_template_filter_applies_the_same_rule(url):
    rendered = Template("{% load antiabuse %}{{ url|reader_url }}").render(Context({"url": url}))
    expected = Template("{{ url }}").render(Context({"url": reader_url_clean(url)}))
    assert rendered == expected


def _support_form(**overrides):
    data = {
        "frequency": "one_off",
        "amount": "1000",
        "email": "reader@example.org",
        "article": "https://news.example.com/story",
        "website": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("url", [u for u in HOSTILE_URLS if u])
def test_a_posted_hostile_article_or_referrer_is_not_stored(client, campaign, url):
    response = client.post(SUPPORT, _support_form(article=url, referrer=url))

    assert response.status_code == 302
    contribution = Contribution.objects.get()
    assert (contribution.article_url, contribution.referrer) == ("", "")


@pytest.mark.django_db
def test_a_hostile_referer_header_is_not_carried_into_the_form(client, campaign):
    page = client.get(SUPPORT, HTTP_REFERER="https://user:pw@evil.example/").content.decode()

    assert "evil.example" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a@evil.example/"])
def test_a_hostile_article_in_the_query_string_is_dropped(client, campaign, url):
    page = client.get(SUPPORT + "?article=" + quote(url)).content.decode()

    assert 'name="article" value=""' in page or 'name="article" id="id_article"' in page
    assert "alert(1)" not in page
    assert "evil.example" not in page


@pytest.mark.django_db
def test_the_thank_you_page_links_back_only_to_a_safe_article(client, campaign):
    client.post(SUPPORT, _support_form())
    contribution = Contribution.objects.get()
    thanks = f"/support/thanks/?session_id={contribution.stripe_checkout_session_id}"

    safe = client.get(thanks).content.decode()
    assert 'href="https://news.example.com/story#rs-supporter"' in safe

    # A row stored before the check existed (or by a path that forgot it) is still not a link.
    Contribution.objects.filter(pk=contribution.pk).update(article_url="javascript:alert(1)//")
    hostile = client.get(thanks).content.decode()
    assert "javascript:" not in hostile
    assert "Back to the article" not in hostile


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://x@evil.example/", "//evil.example"]
)
def test_a_hostile_survey_article_is_not_recorded(client, url):
    survey_create(questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])

    client.post(
        "/surveys/reader-survey/?article=" + quote(url), {"q": "yes", "page": "1", "draft": "t-1"}
    )

    assert Response.objects.get().article_url == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "back", ["javascript:alert(1)", "http://testserver\\@evil.example/", "https://evil.example/"]
)
def test_the_demo_portal_goes_back_only_to_our_own_pages(client, back):
    page = client.get("/support/demo-portal/?return=" + quote(back)).content.decode()

    assert 'href="http://testserver/support/account/"' in page
    assert "evil.example" not in page
    assert "javascript:" not in page


# Template variables rendered into a link or a resource address that hold a URL we built
# ourselves (reverse(), signed links): they need no filter. Any other variable in such an
# attribute must go through `|reader_url`.
# The brand's stylesheet and logo come from the operator's settings.
OUR_OWN_URL_VARIABLES = {
    "change_url",
    "refund_url",
    "download_url",
    "manage_url",
    "brand_stylesheet_url",
    "brand.logo_url",
    "brand.logo_absolute_url",
    "url",  # templates/email/button.html, included with the mail's own links
    "preview_url",  # a campaign preview: the sample article with a signed token
    "draw_link",  # the draw's public page, reversed and joined to SITE_URL
}
URL_ATTRIBUTE = re.compile(
    r"""\b(?:href|src|action|formaction|poster|srcset|xlink:href)\s*=\s*["']([^"']*\{\{[^"']*)["']""",
    re.IGNORECASE,
)
VARIABLE = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")


def _templates():
    return sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))


def test_every_template_renders_reader_urls_through_the_filter():
    offenders = []
    for path in _templates():
        for attribute in URL_ATTRIBUTE.finditer(path.read_text()):
            if attribute.group(1).startswith(("#", "?")):
                continue  # a link within the page: the scheme and host are fixed
            for variable in VARIABLE.findall(attribute.group(1)):
                name, *filters = [part.strip() for part in variable.split("|")]
                if name in ("request.scheme", "request.get_host") or "reader_url" in filters:
                    continue
                if name in OUR_OWN_URL_VARIABLES and not filters:
                    continue
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {variable}")
    assert offenders == []
