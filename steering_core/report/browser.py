"""Check in a real browser that every image of a report page loads (headless Chromium, no driver).

How: the page's HTML is copied into a temporary *probe* page with a ``<base href>`` pointing at
the report folder (so relative image links resolve exactly as in the original) and a small
script that, on the window's ``load`` event (which fires only after every image has loaded or
failed), writes each ``<img>``'s ``src``, ``complete`` flag and natural size into the DOM as
JSON, synchronously in the handler. ``chromium --headless --dump-dom`` prints the DOM after
loading, and the JSON is read back. The report itself is never modified and needs no
JavaScript; only the probe carries a script. An image loaded when it is ``complete`` with ``naturalWidth > 0``.

Chromium: ``$STEERING_CHROMIUM``, else ``chromium``, ``chromium-browser``, ``google-chrome`` on
``PATH`` (Debian: ``apt-get install chromium``; ``scripts/install_chromium.sh``).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from steering_core.errors import InvalidParameterError, SteeringError

CANDIDATES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MARK = "steering-image-probe"
_PROBE = f"""<script>
window.addEventListener("load", function () {{
  var rows = [];
  for (var i = 0; i < document.images.length; i++) {{
    var img = document.images[i];
    rows.push({{src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth,
               height: img.naturalHeight}});
  }}
  var out = document.createElement("pre");
  out.id = "{_MARK}";
  out.textContent = JSON.stringify(rows);
  document.body.appendChild(out);
}});
</script>"""


class BrowserError(SteeringError):
    """Chromium could not be run or gave no answer."""


@dataclass(frozen=True)
class ImageStatus:
    """One ``<img>`` as the browser saw it."""

    src: str
    complete: bool
    width: int
    height: int

    @property
    def loaded(self) -> bool:
        """Whether the image loaded: ``complete`` with a natural width above 0 (a missing or undecodable
        file has width 0; a truncated PNG whose header survives still counts, so file integrity is
        checked separately, by parsing the PNG)."""
        return self.complete and self.width > 0


def find_chromium() -> str | None:
    """The Chromium executable to use, or None."""
    env = os.environ.get("STEERING_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def probe_page(page: Path) -> str:
    """The probe HTML for ``page``: its text with a ``<base>`` to its folder and the probe script."""
    text = page.read_text(encoding="utf-8")
    base = f'<base href="{html.escape(page.parent.resolve().as_uri())}/">'
    head = re.search(r"<head[^>]*>", text, flags=re.IGNORECASE)
    text = text[: head.end()] + base + text[head.end() :] if head else base + text
    close = text.lower().rfind("</body>")
    return text[:close] + _PROBE + text[close:] if close >= 0 else text + _PROBE


def check_images(page: str | Path, chromium: str | None = None, timeout: float = 90.0) -> list[ImageStatus]:
    """Load ``page`` in headless Chromium and report every ``<img>``.

    Raises:
        InvalidParameterError: ``page`` is not a file.
        BrowserError: no Chromium, or it failed or timed out, or the probe result is missing.
    """
    path = Path(page)
    if not path.is_file():
        raise InvalidParameterError("page", "an HTML file", str(path))
    exe = chromium or find_chromium()
    if exe is None:
        raise BrowserError("no Chromium found (install it: scripts/install_chromium.sh, or set STEERING_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="steering-probe-") as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(probe_page(path), encoding="utf-8")
        command = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--allow-file-access-from-files",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            probe.as_uri(),
        ]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise BrowserError(f"chromium failed to run: {error}") from None
    found = re.search(rf'<pre id="{_MARK}">(.*?)</pre>', proc.stdout, flags=re.DOTALL)
    if found is None:
        raise BrowserError(f"chromium gave no probe result (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    rows = json.loads(html.unescape(found.group(1)))
    return [ImageStatus(str(r["src"]), bool(r["complete"]), int(r["width"]), int(r["height"])) for r in rows]
