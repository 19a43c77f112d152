"""Readers of rendered HTML for the web tests: enough to find an element, without a parser."""

import html as html_lib
import re


def element(html: str, element_id: str) -> str:
    """The markup from the opening tag with `id` to the end of its first matching close tag.

    Good enough for the elements the tests look into (forms, sections), which do not nest
    elements of their own tag name.
    """
    match = re.search(rf'<(\w+)\b[^>]*\bid="{re.escape(element_id)}"', html)
    assert match, f"no element with id {element_id!r}"
    end = html.find(f"</{match.group(1)}>", match.end())
    assert end != -1, f"element {element_id!r} is not closed"
    return html[match.start() : end]


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav, "no main navigation"
    return [
        label.strip() for label in re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', nav[1])
    ]


def lead_links(html: str) -> list[int]:
    """The ids of the leads linked from the lead table, in order."""
    table = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return [int(pk) for pk in re.findall(r'href="/leads/(\d+)/"', table[1])] if table else []


def text(html: str) -> str:
    """Visible text with tags dropped and whitespace collapsed."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())
