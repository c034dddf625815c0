"""Normalised e-mail addresses: the one place that decides when two addresses are one person.

Used for the draw's one-entry-per-person rule and for every limit counted per e-mail address
(draw entries, checkouts, sign-in links), so `Jane+1@Example.com` and `jane+2@example.com` count
as one. What is folded, and why it is safe:

- case and surrounding white space (and a trailing dot on the domain): mail servers ignore them;
- a `+tag` on any domain (RFC 5233 subaddressing): the big providers and most mail servers
  deliver `name+tag@` to `name@`; where one does not, two different people merely share a
  limit, or one entry to a draw;
- dots in the local part, only at providers known to ignore them (Gmail);
- a domain's other names (googlemail.com is gmail.com) and internationalised domains, compared
  in their ASCII (IDNA) form.

A sender with a catch-all domain can still invent addresses; the per-client-address limits and
the challenge answer that, not this module.
"""

import encodings.idna

# Providers whose mailboxes ignore dots in the local part ("j.smith" is "jsmith").
DOT_INSENSITIVE_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# Domains that are the same mailbox under another name.
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def email_normalise(address: str) -> str:
    """Return the address in the form used to tell whether two addresses are the same person."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    domain = _ascii_domain(domain.rstrip("."))
    untagged = local.split("+", 1)[0]
    if untagged:  # "+only@" has nothing before the tag: keep it whole
        local = untagged
    if domain in DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    domain = DOMAIN_ALIASES.get(domain, domain)
    return f"{local}@{domain}"


def _ascii_domain(domain: str) -> str:
    try:
        return ".".join(encodings.idna.ToASCII(label).decode() for label in domain.split("."))
    except UnicodeError:  # not a valid name; keep it as it is (it is only compared)
        return domain


def email_domain(address: str) -> str:
    """Return the lower-cased domain of an address."""
    return address.strip().lower().rpartition("@")[2]
