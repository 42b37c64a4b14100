"""HTML building blocks of `sneakergan report`: every piece of text escaped, every image a data: URL.

The page must open anywhere, offline and years later, so it loads nothing: style and the scrubbers'
few lines of script are inline, and images are embedded as base64 PNGs.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Sequence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1.2em 3em; color: #222; }
nav a { margin-right: 0.9em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.missing { color: #777; font-style: italic; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
.scrubber img, figure.pixels img { image-rendering: pixelated; }
figcaption { color: #555; font-size: 0.9em; }
.scrubber label { display: block; margin: 0.4em 0; }
.scrubber input[type=range] { width: min(100%, 480px); vertical-align: middle; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
[hidden] { display: none !important; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""

# Each scrubber shows the frame its range input points at; all frames are <img> elements in the page.
SCRIPT = """
for (const scrubber of document.querySelectorAll(".scrubber")) {
  const range = scrubber.querySelector("input[type=range]");
  const shown = scrubber.querySelector("output");
  const frames = Array.from(scrubber.querySelectorAll("img"));
  range.addEventListener("input", () => {
    const index = Number(range.value);
    frames.forEach((frame, i) => { frame.hidden = i !== index; });
    shown.textContent = frames[index].dataset.epoch;
  });
}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def missing(why: str) -> str:
    return f'<p class="missing" data-testid="missing">not available: {esc(why)}</p>'


def png_data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def read_png(path: Path | None) -> bytes | None:
    """A PNG file's bytes, or None when it is missing, unreadable or not a PNG."""
    try:
        data = path.read_bytes() if path is not None else b""
    except OSError:
        return None
    return data if data.startswith(PNG_MAGIC) else None


def image(data: bytes, alt: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{esc(value)}"' for name, value in attributes.items())
    return f'<img src="{png_data_url(data)}" alt="{esc(alt)}"{extra}>'


def figure(data: bytes, caption: str, testid: str = "figure", pixels: bool = False) -> str:
    """`pixels`: a grid of small images, enlarged without smoothing (not a plot)."""
    opening = '<figure class="pixels">' if pixels else "<figure>"
    return f"{opening}{image(data, caption, data_testid=testid)}<figcaption>{esc(caption)}</figcaption></figure>"


def file_figure(path: Path | None, caption: str, testid: str, why_missing: str, pixels: bool = False) -> str:
    data = read_png(path)
    return figure(data, caption, testid, pixels) if data else missing(why_missing)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] = (), testid: str = "table",
          align_numbers: bool = True) -> str:
    """Cells are escaped; with `align_numbers` a number (or a number formatted as text) is right-aligned."""
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(_cell(cell, align_numbers) for cell in row) + "</tr>" for row in rows)
    return f'<table data-testid="{esc(testid)}">{head}{body}</table>'


def _cell(value: Any, align_numbers: bool) -> str:
    return f'<td class="number">{esc(value)}</td>' if align_numbers and _numeric(value) else f"<td>{esc(value)}</td>"


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(str(value).replace(",", "").replace("+", ""))
    except ValueError:
        return False
    return True


def scrubber(frames: Sequence[tuple[int, bytes]], what: str, testid: str) -> str:
    """All frames embedded, the last one shown; the range input picks the epoch."""
    last = len(frames) - 1
    images = "".join(image(data, f"{what}, epoch {epoch}", data_epoch=str(epoch), data_testid=f"{testid}-frame",
                           **({} if index == last else {"hidden": "hidden"}))
                     for index, (epoch, data) in enumerate(frames))
    return (f'<div class="scrubber" data-testid="{esc(testid)}">'
            f'<label>epoch <output data-testid="{esc(testid)}-epoch">{esc(frames[last][0])}</output> '
            f'<input type="range" min="0" max="{last}" value="{last}" step="1" aria-label="{esc(what)}: epoch">'
            f' ({len(frames)} frames, epochs {esc(frames[0][0])} to {esc(frames[last][0])})</label>'
            f"<figure>{images}</figure></div>")


def page(title: str, sections: Sequence[tuple[str, str, str]], footer: str) -> str:
    """`sections`: (id, heading, inner HTML) in page order, each linked from the top."""
    nav = " ".join(f'<a href="#{esc(sid)}">{esc(heading)}</a>' for sid, heading, _ in sections)
    body = "".join(f'<section id="{esc(sid)}"><h2>{esc(heading)}</h2>{inner}</section>'
                   for sid, heading, inner in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{esc(title)}</h1><nav>{nav}</nav>{body}<footer>{esc(footer)}</footer>"
            f"<script>{SCRIPT}</script></body></html>\n")
