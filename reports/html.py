"""A static ``index.html`` that shows the tables, statistics and figures of one report."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{padding:3px 9px;text-align:right}
th{border-bottom:2px solid #444}td:first-child,th:first-child{text-align:left}
tr:nth-child(even){background:#f4f4f4}img{max-width:100%;border:1px solid #ddd}
.note{color:#666;font-size:90%}"""


@dataclass
class Page:
    """Sections appended in order, then written once with ``write``."""

    title: str
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str, note: bool = False) -> None:
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, header: list[str], rows: list[list[tuple[str, bool]]]) -> None:
        """Rows of (text, bold) cells, as produced by reports.tables.table_grid/pairwise_grid."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{'<b>' if b else ''}{html.escape(s)}{'</b>' if b else ''}</td>"
                             for s, b in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, png: Path, root: Path, caption: str) -> None:
        """An image (path relative to ``root``) with links to its PNG and PDF."""
        rel = png.relative_to(root).as_posix()
        pdf = png.with_suffix(".pdf").relative_to(root).as_posix()
        self.parts.append(
            f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
            f'<figcaption>{html.escape(caption)} (<a href="{html.escape(rel)}">PNG</a>, '
            f'<a href="{html.escape(pdf)}">PDF</a>)</figcaption></figure>')

    def links(self, paths: list[Path], root: Path) -> None:
        items = "".join(f'<li><a href="{html.escape(p.relative_to(root).as_posix())}">'
                        f"{html.escape(p.relative_to(root).as_posix())}</a></li>" for p in paths)
        self.parts.append(f"<ul>{items}</ul>")

    def write(self, path: Path) -> Path:
        doc = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(self.title)}"
               f"</title><style>{STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>\n"
               + "\n".join(self.parts) + "\n</body></html>\n")
        path.write_text(doc, encoding="utf-8")
        return path
