"""The HTML report opened in a real headless browser (Debian's chromium driven by Playwright).

Checks: it loads with no console error and no page error, makes no request but the file itself
(every request is recorded and aborted), the plots render (plotly's ``.main-svg`` elements exist
and have a size), a model named ``<script>alert(1)</script>`` is shown as text and no dialog opens.

Skipped, with the reason, when chromium or playwright is missing; ``.ci/browser-deps.sh``
installs both (``apt-get install chromium``, ``pip install playwright``; no ``playwright
install``: the system chromium is used).
"""

from __future__ import annotations

import os
import shutil

import pytest
from report_runs import IMG_ERROR, SCRIPT_KEY, SCRIPT_NAME, make_run

CHROMIUM = os.environ.get("EFFBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (run .ci/browser-deps.sh)"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"chromium not found at {CHROMIUM} (run .ci/browser-deps.sh)"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    pytest.importorskip("plotly", reason="the HTML report needs plotly")
    from effbench.analysis.run_report import run_report
    from effbench.report.html import render_html

    root = tmp_path_factory.mktemp("browser")
    path = root / "report.html"
    path.write_text(render_html(run_report(make_run())), encoding="utf-8")
    url = path.as_uri()
    events = {"console": [], "errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900}, service_workers="block",
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["errors"].append(str(e)))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))

            def route(r):
                events["requests"].append(r.request.url)
                if r.request.url == url:
                    r.continue_()
                else:
                    r.abort()

            ctx.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_function("document.querySelectorAll('.plot .main-svg').length > 0", timeout=20000)
            result = page.evaluate(
                """() => {
                  const plots = [...document.querySelectorAll('div.plot')];
                  const sized = plots.filter(d => { const s = d.querySelector('.main-svg');
                      if (!s) return false; const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 100; });
                  const points = document.querySelectorAll('.plot .scatterlayer .point').length;
                  const legend = [...document.querySelectorAll('.legendtext')].map(e => e.textContent);
                  const cards = [...document.querySelectorAll('section.card h3')].map(e => e.textContent);
                  const scripts = document.querySelectorAll('script').length;
                  const errorText = document.getElementById('missing').textContent;
                  return {plots: plots.length, sized: sized.length, points, legend, cards, scripts, errorText};
                }"""
            )
            page.mouse.move(10, 10)
            shot = root / "shot.png"
            page.screenshot(path=str(shot))
            result["shot_bytes"] = shot.stat().st_size
        finally:
            ctx.close()
    return url, events, result


def test_no_console_error_and_no_page_error(loaded):
    _, events, _ = loaded
    assert events["errors"] == []
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []


def test_no_network_request(loaded):
    url, events, _ = loaded
    assert events["requests"] == [url]


def test_plots_render(loaded):
    _, _, r = loaded
    assert r["plots"] == 13
    assert r["sized"] == r["plots"]
    assert r["points"] > 10
    assert r["shot_bytes"] > 10_000


def test_script_name_is_text_and_no_dialog(loaded):
    _, events, r = loaded
    assert events["dialogs"] == []
    assert SCRIPT_KEY in r["cards"]
    assert any(t.startswith(SCRIPT_NAME) for t in r["legend"])   # plotly drew it as text
    assert IMG_ERROR in r["errorText"]
    # the compressed plotly.js data block, the loader and figures, the table sorter, and plotly.js
    # itself (decompressed and added by the loader): nothing else injected
    assert r["scripts"] == 4
