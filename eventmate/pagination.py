"""Small helpers for page numbers in query strings."""

from __future__ import annotations

MAX_PAGE = 10_000


def page_number(raw: str | None) -> int:
    """A 1-based page number from user input; anything invalid means page 1."""
    raw = (raw or "").strip()
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    return 1


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
