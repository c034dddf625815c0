"""The publisher's brand: name, logo, colours and fonts, set once in the settings.

Every page, the appeal and every HTML e-mail read it from here. It lives in the settings (the
environment), not in the admin, because every process needs it without a database query (the
worker's mail, the decision endpoint that answers from memory) and a brand changes with a
release, not with an editor's click. Pages get it as CSS custom properties (`/brand.css`);
e-mails, which cannot load stylesheets, get the values inline.
"""

import hashlib
import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core import checks
from django.templatetags.static import static

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Font stacks: names, quotes, commas, spaces and hyphens; nothing that could end a declaration.
FONT_STACK = re.compile(r"^[A-Za-z0-9 ,\"'-]{1,200}$")
COLOURS = ("accent", "accent_text", "ink", "paper", "muted")
FONTS = ("font_body", "font_heading", "font_ui")


@dataclass(frozen=True)
class Brand:
    name: str
    logo: str  # a URL, or a path under the static files
    accent: str
    accent_text: str  # text drawn on the accent colour (buttons)
    ink: str
    paper: str
    muted: str
    font_body: str
    font_heading: str
    font_ui: str  # forms, buttons, small print

    @property
    def logo_url(self) -> str:
        """Return the logo's URL as a page links it (static files resolved)."""
        if self.logo.startswith(("https://", "http://", "/")):
            return self.logo
        try:
            return static(self.logo)
        except ValueError:  # no manifest yet (collectstatic not run): a mail must still go out
            return f"{settings.STATIC_URL}{self.logo}"

    @property
    def logo_absolute_url(self) -> str:
        """Return the logo's URL as an e-mail links it (always absolute)."""
        url = self.logo_url
        return url if url.startswith("http") else settings.SITE_URL + url


def brand_problems(values: dict[str, str]) -> list[str]:
    """Return what is wrong with a brand's settings, in plain words (empty when all is well)."""
    problems = []
    for key in COLOURS:
        if not COLOUR.match(values.get(key, "")):
            problems.append(f"BRAND_COLOR_{key.upper()} must be a colour like #c70000")
    for key in FONTS:
        if not FONT_STACK.match(values.get(key, "")):
            problems.append(f"BRAND_{key.upper()} must be a font stack like Georgia, serif")
    if not values.get("name", "").strip():
        problems.append("BRAND_NAME must not be empty")
    return problems


@cache
def brand_get() -> Brand:
    """Return the brand from the settings (validated by the system check at start-up)."""
    return Brand(**settings.BRAND)


def brand_css(brand: Brand | None = None) -> str:
    """Return the brand as CSS custom properties, for pages and for the appeal's shadow root."""
    brand = brand or brand_get()
    lines = [
        f"  --rs-brand-accent: {brand.accent};",
        f"  --rs-brand-accent-text: {brand.accent_text};",
        f"  --rs-brand-ink: {brand.ink};",
        f"  --rs-brand-paper: {brand.paper};",
        f"  --rs-brand-muted: {brand.muted};",
        f"  --rs-brand-font-body: {brand.font_body};",
        f"  --rs-brand-font-heading: {brand.font_heading};",
        f"  --rs-brand-font-ui: {brand.font_ui};",
    ]
    return ":root, :host {\n" + "\n".join(lines) + "\n}\n"


@cache
def brand_css_version() -> str:
    """Return a short hash of the brand's CSS, so its URL changes when the brand does."""
    return hashlib.sha256(brand_css().encode()).hexdigest()[:12]


def brand_check(**kwargs: object) -> list[checks.CheckMessage]:
    """System check: refuse to start with a brand that would break pages or e-mails."""
    return [checks.Error(problem, id="branding.E001") for problem in brand_problems(settings.BRAND)]
