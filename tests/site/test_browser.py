"""The published site in a real browser: Debian's chromium (/usr/bin/chromium), driven by
Playwright, opening the pages from disk with the network emulated as cut and every request
outside the report folder blocked and counted.

Never a downloaded browser (`playwright install` is not used): .ci/run installs Debian's
chromium and sets CHINAFLOWS_REQUIRE_BROWSER=1, which turns the skip below into a failure, so
that CI cannot pass without running these tests. With $CHINAFLOWS_SCREENSHOTS_DIR set, a
full-page screenshot of every page at 1100 and at 400 px is kept there for a person to read
(each takes a few seconds of chromium's time, so a plain `make test` takes none). Every page
is checked for accessibility by axe-core (the script that axe-playwright-python bundles, run
inside the page: nothing is fetched).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from own_data import HOSTILE, KWEB_DAYS
from page_checks import chart_colours, chart_svgs, reader_defects, smallest_text_px

from helpers.present.plots import COHORT_COLOURS
from helpers.present.show import SAMPLE_MARK

# Each worker (pytest-xdist) that runs some of these tests starts one chromium for them.
pytestmark = [pytest.mark.browser, pytest.mark.pipeline]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = "CHINAFLOWS_REQUIRE_BROWSER"
SCREENSHOTS_DIR = "CHINAFLOWS_SCREENSHOTS_DIR"
AS_OF = "2025-12-31"
NOTEBOOK_PAGES = ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]
# Every page of a run: the site's index (of all runs), the run's index, each notebook's page.
SITE_PAGES = ["site_index", "index", *NOTEBOOK_PAGES]


def _missing_browser() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make install)"
    return None


@pytest.fixture(scope="module")
def browser():
    if reason := _missing_browser():
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"browser tests required ({REQUIRE_BROWSER}=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots() -> Path | None:
    """The folder that keeps full-page screenshots for a person to read ($SCREENSHOTS_DIR); None
    (no screenshots taken) when it is not set."""
    if not os.environ.get(SCREENSHOTS_DIR):
        return None
    folder = Path(os.environ[SCREENSHOTS_DIR])
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def keep_screenshot(page, screenshots: Path | None, name: str) -> None:
    """A full-page screenshot of `page` as it is shown now, as screenshots/<name>.png (none
    without a screenshots folder)."""
    if screenshots is not None:
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)


@dataclass
class LoadedPage:
    """A page opened from disk, with what happened while it loaded."""

    page: object
    path: Path
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def images(self) -> list[dict]:
        return self.page.evaluate(
            "Array.from(document.images).map(i => ({"
            "src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth,"
            "shown_width: i.clientWidth,"
            "caption: i.closest('figure')?.querySelector('figcaption')?.innerText ?? ''}))"
        )

    def visible(self, selector: str) -> bool:
        found = self.page.locator(selector)
        return any(found.nth(i).is_visible() for i in range(found.count()))


def inside(url: str, site: Path) -> bool:
    """Whether `url` is the page's own data or a file of the report site."""
    if url.startswith(("data:", "about:")):
        return True
    parsed = urlparse(url)
    return parsed.scheme == "file" and Path(unquote(parsed.path)).resolve().is_relative_to(site)


@pytest.fixture
def open_page(browser):
    """Opens a page of a site from disk: network cut, requests outside the site aborted and
    counted, console errors collected."""
    contexts = []

    def load(path: Path, site: Path) -> LoadedPage:
        # A high-density screen (2 device pixels per CSS pixel), where blurry charts show.
        context = browser.new_context(
            offline=True, viewport={"width": 1280, "height": 900}, device_scale_factor=2
        )
        contexts.append(context)
        loaded = LoadedPage(page=None, path=path)
        site = site.resolve()

        def route(route):
            if inside(route.request.url, site):
                route.continue_()
            else:
                loaded.outside_requests.append(route.request.url)
                route.abort()

        def seen(request):  # also what the route did not see
            if not inside(request.url, site) and request.url not in loaded.outside_requests:
                loaded.outside_requests.append(request.url)

        context.route("**/*", route)
        context.on("request", seen)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and loaded.console_errors.append(m.text))
        page.on("pageerror", lambda error: loaded.console_errors.append(str(error)))
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        loaded.page = page
        return loaded

    yield load
    for context in contexts:
        context.close()


def shown_number(text: str) -> float:
    match = re.search(r"[-+\u2212]?\d+(\.\d+)?", text)
    assert match, text
    return float(match.group(0).replace("\u2212", "-"))


def expected_number(headline: dict, key: str) -> float:
    """The figure of headline.json under `key` as the indexes show it (bn, pp, p)."""
    value = headline
    for part in key.split("."):
        value = value[part]
    if key.startswith("flows."):
        return round(value / 1e9, 2)
    return round(value, 3 if key.endswith("p_value") else 1)


def check_headline_figures(loaded: LoadedPage, headline: dict, scope: str = "") -> int:
    cells = loaded.page.locator(f"{scope} [data-key]".strip())
    for i in range(cells.count()):
        key = cells.nth(i).get_attribute("data-key")
        text = cells.nth(i).inner_text()
        assert shown_number(text) == expected_number(headline, key), (loaded.path.name, key, text)
    return cells.count()


def check_links_resolve(loaded: LoadedPage) -> None:
    for href in loaded.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
        if href.startswith("file:"):
            target = Path(unquote(urlparse(href).path))
            assert target.exists(), f"{loaded.path.name} links to a missing {target}"


# --- a fresh report ------------------------------------------------------------------------------


def site_page(reports: Path, name: str, as_of: str = AS_OF) -> Path:
    """The file of the page `name` (of SITE_PAGES) of the run as of `as_of`."""
    if name == "site_index":
        return reports / "index.html"
    return reports / as_of / f"{name}.html"


# One test per page, so that the workers share the pages between them.
@pytest.mark.parametrize("name", SITE_PAGES)
def test_every_page_renders_offline_from_disk(
    published_run, open_page, screenshots, tmp_path, name
):
    # A copy in another folder: a report folder moved elsewhere works the same.
    reports = tmp_path / "copied" / "reports"
    shutil.copytree(published_run[0] / "reports", reports)
    headline = json.loads((reports / AS_OF / "headline.json").read_text(encoding="utf-8"))
    sample = headline["flows_source"] == "sample"

    loaded = open_page(site_page(reports, name), reports)
    assert reader_defects(loaded.page.content()) == [], name
    check_narrow_screen(loaded, name, screenshots)
    assert accessibility_violations(loaded.page, LAYOUT_RULES) == {}, (name, "at 400 px")
    loaded.page.set_viewport_size(READING_VIEWPORT)
    keep_screenshot(loaded.page, screenshots, f"{name}_1100")
    assert accessibility_violations(loaded.page) == {}, (name, "at 1100 px")

    assert loaded.outside_requests == [], (name, loaded.outside_requests)
    assert loaded.console_errors == [], (name, loaded.console_errors)
    images = loaded.images()
    assert all(image["complete"] and image["width"] > 0 for image in images), (name, images)
    check_links_resolve(loaded)
    if name in NOTEBOOK_PAGES:
        assert images, f"{name} shows no chart"
        for image in images:
            assert_crisp_and_captioned(name, image)
        assert loaded.visible('a[href="index.html"]'), f"{name}: no link to the run's index"
        assert loaded.visible('a[href="../index.html"]'), f"{name}: no link to all runs"
        assert loaded.visible("header.report-header"), f"{name}: no parameters table"
        assert AS_OF in loaded.page.locator("header.report-header").inner_text()
        check_chart_palette_and_text(loaded, name)
    if name == "site_index":
        row = f'tr:has(a[data-run="{AS_OF}"])'
        assert check_headline_figures(loaded, headline, row) == 3
    if name == "index":
        assert loaded.visible('figure.chart img[src="headline_chart.svg"]'), "no chart"
        assert check_headline_figures(loaded, headline) >= 6
        assert loaded.visible('a[href="../index.html"]')
        for page in NOTEBOOK_PAGES:
            assert loaded.visible(f'a[href="{page}.html"]'), page
    if sample and name != "03_sovereign_survey":  # 03 shows no fund flows
        assert loaded.visible(".sample-mark"), f"{name}: the sample mark is not visible"
        assert SAMPLE_MARK in loaded.page.locator(".sample-mark").first.inner_text().lower()
    if screenshots is not None:
        kept = {p.name for p in screenshots.glob("*.png")}
        assert {f"{name}_400.png", f"{name}_1100.png"} <= kept


READING_VIEWPORT = {"width": 1100, "height": 900}
NARROW_VIEWPORT = {"width": 400, "height": 800}
MIN_TEXT_PX = 11  # chart text at a 1100 px wide page
MIN_CHART_PX = 640  # on a narrow screen a chart scrolls sideways rather than shrink below this


def check_chart_palette_and_text(loaded: LoadedPage, name: str) -> None:
    """At a 1100 px wide page, every chart's smallest text is at least MIN_TEXT_PX; the flow
    charts draw the cohorts in the colour-blind-safe palette, never the old red against green."""
    loaded.page.set_viewport_size(READING_VIEWPORT)
    shown = [image["shown_width"] for image in loaded.images()]
    charts = chart_svgs(loaded.page.content())
    assert len(charts) == len(shown), name
    for svg, width in zip(charts, shown, strict=True):
        assert smallest_text_px(svg, width) >= MIN_TEXT_PX, (name, width)
    if name == "02_etf_flows":
        first = chart_colours(charts[0])
        assert {c.lower() for c in COHORT_COLOURS.values()} & first, first
        assert not {"#1b7f5b", "#b3412e"} & first, "red against green"


def check_narrow_screen(loaded: LoadedPage, name: str, screenshots: Path | None) -> None:
    """At 400 px the page is no wider than the screen (a wide table or chart scrolls inside its
    own box), a chart keeps a readable width; the page is screenshot for a person to read."""
    loaded.page.set_viewport_size(NARROW_VIEWPORT)
    page_width, screen_width = loaded.page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert page_width <= screen_width, (
        f"{name} is {page_width} px wide on a {screen_width} px screen"
    )
    for image in loaded.images():
        assert image["shown_width"] >= MIN_CHART_PX, (name, image)
    keep_screenshot(loaded.page, screenshots, f"{name}_400")


# axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA (text contrast, alt text, the
# page's language and title, scrolling boxes reachable by keyboard, targets large enough), and
# its best-practice rule that headings go down one level at a time.
AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "rules": {"heading-order": {"enabled": True}},
}
# Of those, the rules whose verdict changes with the screen's width (the pages' colours do not):
# boxes that scroll on a narrow screen, links that wrap closer together.
LAYOUT_RULES = ["scrollable-region-focusable", "target-size"]


def accessibility_violations(page, rules: list[str] | None = None) -> dict[str, list[str]]:
    """What axe-core finds on the page as it is shown now, by WCAG_AA or only by `rules`: for
    each rule broken, the elements that break it (their HTML, shortened). By WCAG_AA it fails if
    the contrast rule did not run."""
    chosen = {"runOnly": {"type": "rule", "values": rules}} if rules else WCAG_AA
    results = AXE.run(page, options={**chosen, "resultTypes": ["violations"]}).response
    checked = {rule["id"] for kind in ("passes", "violations") for rule in results[kind]}
    assert rules or "color-contrast" in checked, "axe-core did not check the text contrast"
    return {
        rule["id"]: [node["html"][:120] for node in rule["nodes"]] for rule in results["violations"]
    }


ONE_PIXEL_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def test_the_accessibility_check_finds_what_a_reader_would_miss(browser):
    page = browser.new_page()
    page.set_content(
        "<!DOCTYPE html><html><head></head><body><main><h1>Flows</h1><h3>Skipped a level</h3>"
        f'<p style="color:#bbbbbb">Faint text</p><img src="{ONE_PIXEL_GIF}"></main></body></html>'
    )
    found = accessibility_violations(page)
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body><main>'
        '<div style="overflow-x:auto;width:100px"><p style="white-space:nowrap">A table wider than'
        " its box</p></div>"
        '<ul style="font-size:11px;line-height:1"><li><a href="#a">first</a></li>'
        '<li><a href="#b">second</a></li></ul></main></body></html>'
    )
    found_in_layout = accessibility_violations(page, LAYOUT_RULES)
    page.close()
    assert found.keys() == {
        "color-contrast",  # light grey on white: 1.9 to 1
        "image-alt",
        "html-has-lang",
        "document-title",
        "heading-order",
    }, found
    assert found_in_layout.keys() == {"scrollable-region-focusable", "target-size"}


def assert_crisp_and_captioned(page: str, image: dict) -> None:
    """A chart is vector, or a bitmap with two pixels for each CSS pixel it is shown at; and it
    has a caption saying what it shows."""
    vector = image["src"].startswith("data:image/svg+xml")
    assert vector or image["width"] >= 2 * image["shown_width"], (page, "blurry chart", image)
    assert len(image["caption"].split()) >= 8, (page, "chart without a caption", image)


# --- text from data is text ----------------------------------------------------------------------


def test_markup_in_the_raw_data_is_shown_as_text(own_data_run, open_page, screenshots):
    # The researcher's own data hold HOSTILE in an event's title, which reaches the sentences of
    # 01 (it falls on a market holiday), and in a publisher, which reaches the sources table of
    # 04 (tests/support/own_data.py).
    reports = own_data_run[0] / "reports"
    shown_on = []
    for name in SITE_PAGES:
        path = site_page(reports, name, KWEB_DAYS[-1].isoformat())
        loaded = open_page(path, reports)
        page = loaded.page
        assert page.evaluate("typeof window.__pwned") == "undefined", name
        made_bold = page.evaluate(
            "Array.from(document.querySelectorAll('b')).filter(b => b.textContent === 'bold')"
            ".length"
        )
        assert made_bold == 0, f"{name}: a <b> element was made from the data"
        made_script = page.evaluate(
            "Array.from(document.scripts).filter(s => s.text.includes('__pwned')).length"
        )
        assert made_script == 0, f"{name}: a <script> element was made from the data"
        literal = page.get_by_text(HOSTILE)
        if any(literal.nth(i).is_visible() for i in range(literal.count())):
            shown_on.append(name)
            keep_screenshot(page, screenshots, f"hostile_{name}")
    assert {"01_clean_data", "04_summary"} <= set(shown_on), shown_on


def test_a_page_prints_on_a4_without_navigation_or_cut_charts(published_run, open_page, tmp_path):
    reports = published_run[0] / "reports"
    loaded = open_page(reports / AS_OF / "02_etf_flows.html", reports)
    page = loaded.page
    a4_text_width_px = round((210 - 2 * 12) / 25.4 * 96)  # A4 less the print style's margins
    page.set_viewport_size({"width": a4_text_width_px, "height": 1000})
    page.emulate_media(media="print")
    assert not loaded.visible(".report-nav"), "navigation printed"
    assert not loaded.visible(".report-details"), "folded settings printed"
    edges = page.evaluate("Array.from(document.images).map(i => i.getBoundingClientRect().right)")
    assert edges and max(edges) <= a4_text_width_px, edges  # no chart cut at the paper's edge
    pdf = tmp_path / "02_etf_flows.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
