"""Parse a rendered page for tests: its start tags and the text inside each element with an id."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """Parse a page into its start tags and the text inside each element with an id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)
        self.close()

    def _boundary(self) -> None:
        for _, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += " "

    def handle_starttag(self, tag, attrs):
        self._boundary()
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in ("meta", "br", "line", "polyline"):
            self._open.append((tag, attributes.get("id")))
            if attributes.get("id"):
                self.text_by_id[attributes["id"]] = ""

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._boundary()
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def text(self, element_id: str) -> str:
        return " ".join(self.text_by_id[element_id].split())

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if a.get("id")]
