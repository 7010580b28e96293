"""axe-core in the browser: inject the pinned copy (tests/e2e/package.json, installed by
scripts/test) into a page and list what it finds, one readable line per violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}
# Moderate in axe's own scale, but each was reported by people using the site (issue 16,
# item 15): the same landmark name twice, and headings that skip a level.
FAILING_RULES = {"landmark-unique", "heading-order"}

# `axe.run` on the whole document with its default rules (WCAG A/AA and best practices); the
# result is cut down to plain data in the page so that little crosses back.
RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


def axe_problems(page: Page) -> list[str]:
    """The page's serious and critical violations (and FAILING_RULES), as
    "rule-id (impact): help — target, target" lines; [] when clean."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: scripts/test installs it (npm ci in tests/e2e)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'])}"
        for v in page.evaluate(RUN)
        if v["impact"] in FAILING_IMPACTS or v["id"] in FAILING_RULES
    ]
