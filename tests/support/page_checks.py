"""What a published page must not show a reader (issue 16: pages that read like a research note).

`reader_defects(html)` lists, for one page, every place where notebook plumbing or raw pandas
output reaches the reader: a bare return value (a `PosixPath(...)` or any other repr left by a
cell), an empty section (a heading followed by a heading of the same or a higher level with
nothing between), a table whose index is a row number, a column header with an underscore (a
code name), a time of 00:00:00, a file readers do not have (FACTS.md), the sample mark in a
double parenthesis, and a hyphen standing for a minus sign in a figure. The browser tests run it
on every published page; test_page_checks.py shows that each check fires.
"""

from __future__ import annotations

import base64
import re

from bs4 import BeautifulSoup, NavigableString, Tag

HEADINGS = {f"h{level}": level for level in range(1, 7)}
# A hyphen that starts a figure: not inside a word, a date, a range or a flag such as "-p".
HYPHEN_MINUS = re.compile(r"(?<![\w.\-/])-\$?\d")
DOUBLE_PARENTHESIS = re.compile(r"\(\s*sample data \(synthetic\)\s*\)", re.IGNORECASE)
PRIVATE_FILES = ("FACTS.md",)


def _visible_text(soup: BeautifulSoup) -> str:
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()
    return soup.get_text(" ")


def _bare_values(soup: BeautifulSoup) -> list[str]:
    """A cell's return value shown as plain text (papermill/nbconvert's text/plain result)."""
    results = soup.select(".jp-OutputArea-executeResult[data-mime-type='text/plain'] pre")
    return [f"a cell's bare return value: {r.get_text()[:80]!r}" for r in results]


def _outline(soup: BeautifulSoup) -> list[tuple[int, str] | None]:
    """The page in reading order: (level, text) for each heading, None for any content."""
    events: list[tuple[int, str] | None] = []
    for node in soup.body.descendants if soup.body else []:
        if isinstance(node, Tag) and node.name in HEADINGS:
            events.append((HEADINGS[node.name], node.get_text(" ", strip=True).rstrip("¶ ")))
        elif isinstance(node, Tag) and node.name in ("img", "svg", "table"):
            events.append(None)
        elif isinstance(node, NavigableString) and node.strip():
            inside = node.find_parent(list(HEADINGS))
            if inside is None and node.find_parent(["style", "script", "title"]) is None:
                events.append(None)
    return events


def _empty_sections(soup: BeautifulSoup) -> list[str]:
    outline = _outline(soup)
    empty = []
    for here, following in zip(outline, outline[1:], strict=False):
        if here is not None and following is not None and following[0] <= here[0]:
            empty.append(f"an empty section: {here[1]!r} is followed at once by {following[1]!r}")
    return empty


def _row_number_indexes(soup: BeautifulSoup) -> list[str]:
    found = []
    for table in soup.find_all("table"):
        labels = [th.get_text(strip=True) for th in table.select("tbody th.row_heading")]
        if labels and all(label.isdigit() for label in labels):
            caption = table.caption.get_text(strip=True) if table.caption else "a table"
            found.append(f"a row-number index in {caption[:60]!r}: {labels[:4]}")
    return found


def _code_name_headers(soup: BeautifulSoup) -> list[str]:
    headers = soup.select("thead th") + soup.select("th.col_heading, th.index_name")
    return sorted(
        {
            f"a column header with an underscore: {h.get_text(strip=True)!r}"
            for h in headers
            if "_" in h.get_text()
        }
    )


def reader_defects(page: str) -> list[str]:
    """Every defect of the page `page` (HTML) a reader would see; empty when there is none."""
    soup = BeautifulSoup(page, "html.parser")
    defects = [
        *_bare_values(soup),
        *_empty_sections(soup),
        *_row_number_indexes(soup),
        *_code_name_headers(soup),
    ]
    text = _visible_text(soup)
    if "00:00:00" in text:
        defects.append("a time of 00:00:00 shown with a date")
    defects += [
        f"names {name}, which readers do not have" for name in PRIVATE_FILES if name in text
    ]
    if DOUBLE_PARENTHESIS.search(text):
        defects.append("the sample mark in a double parenthesis")
    defects += [
        f"a hyphen as a minus sign: {text[max(m.start() - 30, 0) : m.end() + 10]!r}"
        for m in HYPHEN_MINUS.finditer(text)
    ]
    return defects


def chart_svgs(page: str) -> list[str]:
    """The SVG documents of the charts a page embeds (plots.show_chart: data: URIs in <img>)."""
    encoded = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    return [base64.b64decode(e).decode("utf-8") for e in encoded]


def smallest_text_px(svg: str, shown_width_px: float) -> float:
    """The smallest text of a chart as a reader sees it, in CSS pixels, when the chart is shown
    `shown_width_px` wide: its smallest font size, scaled as the chart is."""
    view_width = float(re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ', svg).group(1))
    sizes = [float(size) for size in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    return min(sizes) * shown_width_px / view_width


def chart_colours(svg: str) -> set[str]:
    """The fill colours a chart uses, lower case (#rrggbb)."""
    return {colour.lower() for colour in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", svg)}
