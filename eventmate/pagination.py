"""Small helpers for page numbers in query strings."""

from __future__ import annotations

MAX_PAGE = 10_000


def parse_page(raw: str | None) -> int | None:
    """The page number written in `raw` (1 to MAX_PAGE in ASCII digits), else None.

    The digits are counted before int(): Python refuses to convert more than 4,300 of them
    (a ValueError, and so a 500, for `?page=999…`)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_PAGE)):
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_PAGE else None


def page_number(raw: str | None) -> int:
    """A 1-based page number from user input; anything invalid means page 1."""
    return parse_page(raw) or 1


def page_count(total: int, per_page: int) -> int:
    """Pages needed for `total` items, `per_page` each; at least one (an empty list's)."""
    return max(1, -(-total // per_page))


def page_window(page: int, pages: int, radius: int = 2) -> list[int | None]:
    """Page links around the current page, with None marking a gap: 1 … 4 5 [6] 7 8 … 20."""
    shown = {1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)}
    window: list[int | None] = []
    previous = 0
    for number in sorted(shown):
        if number - previous > 1:
            window.append(None)
        window.append(number)
        previous = number
    return window
