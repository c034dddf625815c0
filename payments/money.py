"""Money as integer minor units plus an ISO currency code: parsing what people type, formatting,
and the fee gross-up. Every amount a reader or a staff member types goes through `money_parse`."""

import re
from decimal import ROUND_CEILING, Decimal

from django.conf import settings

SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
# Every currency offered has two decimal places; a zero-decimal one would be listed here.
MINOR_UNIT_DIGITS = {"EUR": 2, "GBP": 2, "USD": 2}


def currency_decimal_places(currency: str) -> int:
    """Return how many digits follow the decimal point in the currency's amounts (2 for EUR)."""
    return MINOR_UNIT_DIGITS.get(currency, 2)


def money_format(amount_minor: int, currency: str) -> str:
    """Return e.g. "€10.00" for (1000, "EUR"), "-€35.00" for (-3500, "EUR")."""
    digits = currency_decimal_places(currency)
    major = Decimal(abs(amount_minor)).scaleb(-digits)
    symbol = SYMBOLS.get(currency)
    sign = "-" if amount_minor < 0 else ""
    text = f"{major:,.{digits}f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def fee_cover_minor(amount_minor: int) -> int:
    """Return what to add so that, after the card fee, the publisher receives `amount_minor`.

    With fee = p * charge + f, the charge is (amount + f) / (1 - p), rounded up.
    """
    percent = Decimal(str(settings.PAYMENTS_FEE_COVER_PERCENT)) / 100
    fixed = Decimal(settings.PAYMENTS_FEE_COVER_FIXED_MINOR)
    charge = ((Decimal(amount_minor) + fixed) / (1 - percent)).to_integral_value(ROUND_CEILING)
    return int(charge) - amount_minor


# Digits, then at most one decimal separator (a point, or the comma many readers type) and the
# decimals. Nothing else: no exponent ("1e3"), no sign, no thousands separators, no "NaN".
AMOUNT_TEXT = re.compile(r"(?P<whole>[0-9]{1,9})(?:(?P<separator>[.,])(?P<decimals>[0-9]+))?")


class MoneyParseError(ValueError):
    """What a person typed is not an amount of money; the message says why, in plain words."""


def money_example(currency: str) -> str:
    """Return an example amount as people type it in the currency ("12.50", or "1250")."""
    places = currency_decimal_places(currency)
    return f"{Decimal(1250).scaleb(-places):.{places}f}"


def money_parse(text: str, *, currency: str) -> int:
    """Return the amount typed in major units ("12.50", "€12,50", "12") in minor units.

    Raise MoneyParseError with one plain message for anything else, including "1e3", "-5",
    "1,000.00" and "abc". The currency's symbol or code around the number is allowed.
    """
    raw = text.strip()
    for marker in (SYMBOLS.get(currency, ""), currency, currency.lower()):
        if marker:
            raw = raw.removeprefix(marker).removesuffix(marker).strip()
    match = AMOUNT_TEXT.fullmatch(raw)
    if match is None:
        raise MoneyParseError(
            f"Enter the amount as a number in {currency}, like {money_example(currency)}."
        )
    places = currency_decimal_places(currency)
    decimals = match["decimals"] or ""
    if match["separator"] == "," and len(decimals) == 3:
        raise MoneyParseError(
            f"Write the amount without a thousands separator, like {money_example(currency)}."
        )
    if len(decimals) > places:
        raise MoneyParseError(
            f"{currency} amounts have no decimal places."
            if places == 0
            else f"{currency} amounts have at most {places} decimal places."
        )
    whole: int = int(match["whole"]) * 10**places
    return whole + int(decimals.ljust(places, "0") or "0")


def money_major_text(amount_minor: int, currency: str) -> str:
    """Return an amount in major units as people type it, without symbol ("12.50")."""
    places = currency_decimal_places(currency)
    return f"{Decimal(amount_minor).scaleb(-places):.{places}f}"
