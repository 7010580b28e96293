"""URL converters: malformed identifiers are a routing 404 before any query runs."""

from werkzeug.routing import BaseConverter


class SlugConverter(BaseConverter):
    """Lower-case words joined by hyphens, as our slugs are (no NULs, no 10 kB paths)."""

    regex = r"[a-z0-9]+(?:-[a-z0-9]+){0,30}"
    part_isolating = True


class PageNumberConverter(BaseConverter):
    """1–9999, so a huge number cannot overflow an OFFSET."""

    regex = r"[1-9][0-9]{0,3}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ReferenceConverter(BaseConverter):
    """Booking references: upper-case letters, digits and hyphens."""

    regex = r"[A-Z0-9][A-Z0-9-]{2,15}"
    part_isolating = True
