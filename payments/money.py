"""Money as integer minor units plus an ISO currency code: formatting and the fee gross-up."""

from decimal import ROUND_CEILING, Decimal

from django.conf import settings

SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
# Every currency offered has two decimal places; a zero-decimal one would be listed here.
MINOR_UNIT_DIGITS = {"EUR": 2, "GBP": 2, "USD": 2}


def currency_decimal_places(currency: str) -> int:
    """Return how many digits follow the decimal point in the currency's amounts (2 for EUR)."""
    return MINOR_UNIT_DIGITS.get(currency, 2)


def money_format(amount_minor: int, currency: str) -> str:
    """Return e.g. "€10.00" for (1000, "EUR")."""
    digits = currency_decimal_places(currency)
    major = Decimal(amount_minor).scaleb(-digits)
    symbol = SYMBOLS.get(currency)
    text = f"{major:,.{digits}f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def fee_cover_minor(amount_minor: int) -> int:
    """Return what to add so that, after the card fee, the publisher receives `amount_minor`.

    With fee = p * charge + f, the charge is (amount + f) / (1 - p), rounded up.
    """
    percent = Decimal(str(settings.PAYMENTS_FEE_COVER_PERCENT)) / 100
    fixed = Decimal(settings.PAYMENTS_FEE_COVER_FIXED_MINOR)
    charge = ((Decimal(amount_minor) + fixed) / (1 - percent)).to_integral_value(ROUND_CEILING)
    return int(charge) - amount_minor


def major_to_minor(value: Decimal, currency: str) -> int:
    """Convert an amount typed by a reader in major units ("12.50") to minor units."""
    return int(value.scaleb(currency_decimal_places(currency)).to_integral_value())
