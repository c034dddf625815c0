"""Normalised e-mail addresses for the one-entry-per-person rule.

The provider lists live here and only here: add a provider once it is known to deliver
`name+tag@` to `name@` (or to ignore dots in the local part).
"""

# Providers whose mailboxes ignore dots in the local part ("j.smith" is "jsmith").
DOT_INSENSITIVE_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# Providers that deliver "name+anything@" to "name@".
PLUS_TAG_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "live.co.uk",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "protonmail.com",
        "proton.me",
        "pm.me",
    }
)

# Domains that are the same mailbox under another name.
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def email_normalise(address: str) -> str:
    """Return the address in the form used to tell whether two entries are the same person."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    domain = DOMAIN_ALIASES.get(domain, domain)
    return f"{local}@{domain}"


def email_domain(address: str) -> str:
    """Return the lower-cased domain of an address."""
    return address.strip().lower().rpartition("@")[2]
