"""Every mail the service sends is composed here: a plain-text part and the same message as
HTML in the publisher's brand, as one multipart message.

A mail is a pair of templates, `<name>.txt` and `<name>.html` (the HTML one extends
`email/base.html`, which draws the logo, colours and fonts inline: mail clients load no
stylesheets). Both get the brand, the publisher's name and the site's URL besides the caller's
context. The HTML part is autoescaped, so a reader's name with markup in it arrives as text;
the plain-text part is not (it is not HTML, and escaping would show `&lt;` to the reader).
"""

import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string

from branding.brand import brand_get


class BrandedMail(EmailMultiAlternatives):
    """A multipart mail whose MIME boundaries are drawn when its message is built.

    Left to the standard library, a boundary is drawn while the message is written out and then
    checked against the whole text with a regular expression compiled anew for each mail: a
    worker sending a batch of receipts spent a twentieth of its time compiling them. A boundary
    of 128 random bits, drawn after the parts were written, is not in them.
    """

    def message(self, **kwargs: Any) -> Any:
        built = super().message(**kwargs)
        for part in built.walk():
            if part.is_multipart() and part.get_boundary() is None:
                part.set_boundary(f"=_{secrets.token_hex(16)}")
        return built


def site_link(path: str) -> str:
    """Return the absolute URL of a path of this site, as a mail links it."""
    return settings.SITE_URL.rstrip("/") + path


def mail_compose(
    *,
    template: str,
    subject: str,
    to: list[str],
    context: Mapping[str, Any],
    headers: dict[str, str] | None = None,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """Return the mail `template` names (without extension) as text and branded HTML."""
    brand = brand_get()
    full = {"brand": brand, "publisher": brand.name, "site_url": site_link("/"), **context}
    message = BrandedMail(
        subject=subject,
        body=render_to_string(f"{template}.txt", full),
        to=to,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"{template}.html", full), "text/html")
    return message
