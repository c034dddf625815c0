from django import template
from django.utils.html import format_html

from antiabuse.challenge import challenge_required
from antiabuse.reader_urls import reader_url_clean

register = template.Library()


@register.simple_tag
def challenge_widget() -> str:
    """Render the challenge widget and its script, or nothing when no challenge is set up."""
    from django.conf import settings

    if not challenge_required():
        return ""
    return format_html(
        '<div class="cf-turnstile" data-sitekey="{}"></div><script src="{}" async defer></script>',
        settings.TURNSTILE_SITE_KEY,
        settings.TURNSTILE_SCRIPT_URL,
    )


@register.filter
def reader_url(value: object) -> str:
    """Return a URL a reader gave us if it is safe to put in a link, else "".

    Every template renders reader-supplied URLs through this filter (a test checks the
    templates), so a row stored before validation, or by a path that forgot it, is still safe.
    """
    return reader_url_clean(value)
