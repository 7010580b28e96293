"""The currency an event is priced in by default: the one its city's country uses.

Cities store their country by its English name (City.country). Babel's CLDR data gives the
name→code mapping (Locale("en").territories) and the currencies each territory uses now
(get_territory_currencies), so no hand-kept table goes stale.
"""

from __future__ import annotations

from functools import cache

from babel import Locale
from babel.numbers import get_territory_currencies

# Offered on every event form, whatever the cities; the cities' own currencies are added.
COMMON_CURRENCIES = (
    "EUR", "GBP", "USD", "CAD", "AUD", "NZD", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN",
)  # fmt: skip


@cache
def _territory_codes() -> dict[str, str]:
    """English country name (case-folded) → ISO 3166 code. Regions such as "Europe" ("150")
    have numeric codes and are left out."""
    territories = Locale("en").territories
    return {name.casefold(): code for code, name in territories.items() if code.isalpha()}


@cache
def country_currency(country: str) -> str | None:
    """The ISO 4217 code of the legal tender `country` (an English name) uses today, or None
    for a name CLDR doesn't know (then the host must choose)."""
    code = _territory_codes().get(country.strip().casefold())
    if code is None:
        return None
    currencies = get_territory_currencies(code)
    return currencies[0] if currencies else None
