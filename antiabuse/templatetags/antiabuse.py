from django import template
from django.utils.html import format_html

from antiabuse.challenge import challenge_required

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
