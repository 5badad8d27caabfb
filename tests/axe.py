"""axe-core (npm, installed by `make test` from the root package.json) run inside a real page.

The script is evaluated through the DevTools protocol, so the page's Content-Security-Policy
(which allows no inline script) stays as it is; nothing of axe is served by our servers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: what EN 301 549 chapter 9 points to.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").slice(0, 160)) }));
}"""


def axe_violations(page) -> list[dict]:
    """Every WCAG 2.2 A/AA violation axe finds on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make test` (it runs `npm ci` for package.json)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(RUN, WCAG_TAGS)


def assert_no_violations(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}): {v['nodes']}" for v in found)
