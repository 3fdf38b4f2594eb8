"""The HTML report as text (the browser test opens it for real), cost cards, and `effbench report`."""

from __future__ import annotations

import html
import re

import pytest
from report_runs import IMG_ERROR, LATEX_KEY, SCRIPT_KEY, SCRIPT_NAME, make_run

from effbench.cli import main
from effbench.report.cards import cost_cards, format_value, run_setup

pytest.importorskip("plotly", reason="the HTML report needs plotly (pip install 'effbench[report]')")

from effbench.analysis.run_report import run_report  # noqa: E402
from effbench.report.html import CSP, render_html  # noqa: E402


@pytest.fixture(scope="module")
def page():
    return render_html(run_report(make_run()), generated_at="2026-01-01T00:00:00+00:00")


def _without_plotly(page: str) -> str:
    """The page minus the inlined plotly.js library (the part we wrote ourselves)."""
    start = page.index('<script id="plotlyjs-gz"', page.index("</footer>"))
    end = page.index("</script>", start)
    return page[:start] + page[end:]


def test_names_are_escaped_never_raw(page):
    assert SCRIPT_NAME not in page
    assert "<img src=x" not in page and "<b>9000</b>" not in page and "<em>html</em>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/torch" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    # in the figure JSON: escaped as HTML text for plotly, and "/" as \\u002f by plotly's encoder
    assert "&lt;script&gt;alert(1)&lt;\\u002fscript&gt;\\u002ftorch" in page


def test_self_contained_no_external_reference(page):
    assert f'content="{CSP}"'.replace("'", "&#x27;") in page
    ours = _without_plotly(page)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", ours, re.I)
    assert "<link rel=\"stylesheet\"" not in ours
    assert ours.count("<script>") == 2 and "<script src" not in page  # the figures and the table sorter (plotly.js cut)


def test_plotly_js_inlined_once_compressed(page):
    import base64
    import gzip

    from plotly.offline import get_plotlyjs

    blocks = re.findall(r'<script id="plotlyjs-gz" type="application/gzip\+base64">([A-Za-z0-9+/=]+)</script>', page)
    assert len(blocks) == 1  # once per page, whatever the number of figures
    assert gzip.decompress(base64.b64decode(blocks[0])).decode("utf-8") == get_plotlyjs()  # the whole minified bundle
    assert get_plotlyjs()[:2000] not in page  # never also inlined in the clear
    # the page is the compressed bundle plus our own part; 13 figures do not make it grow past that
    assert len(page) < len(blocks[0]) + 400_000


def test_sections_and_figures(page):
    for sid in ("summary", "setup", "quality", "latency", "batching", "energy", "tail", "misnomer", "recommendation", "cards", "missing"):
        assert f'id="{sid}"' in page
    n_divs = len(re.findall(r"<div class=\"plot\" id=\"fig\d+\"", page))
    n_calls = page.count("Plotly.newPlot(")
    # 7 quality-vs-cost panels (energy included) + latency + 2 batch + energy + tail + misnomer heatmap
    assert n_divs == n_calls == 13


def test_units_and_provenance_everywhere(page):
    assert "accuracy vs energy per sample at batch 1" in page
    assert "energy per sample [J] (solid: measured, dashed: estimated)" in page
    assert '<span class="prov prov-estimated">estimated</span>' in page
    assert '<span class="prov prov-analytic">computed (analytic)</span>' in page
    # quality-vs-cost axis titles name unit and provenance
    assert "FLOPs per sample [FLOP] (computed (analytic))" in page
    assert "p50 latency at batch 1 [\\u00b5s] (measured)" in page or "p50 latency at batch 1 [µs] (measured)" in page


def test_missing_measurements_are_listed(page):
    assert "<b>gamma/torch</b>: macro F1 (test split), FLOPs per sample" in page
    assert "latency p50 at batch 1" in page.split('id="missing"')[1]
    assert "not measured" in page


def test_run_without_energy_or_tail_says_so():
    text = render_html(run_report(make_run(energy=False, tail=False)))
    assert "Inference energy was not measured in this run" in text
    assert "Training energy was not measured in this run" in text
    assert "Tail quality was not measured in this run" in text
    assert "Not measured for any candidate: inference energy" in text


def test_misnomer_section_needs_three_candidates():
    run = make_run()
    keep = {"alpha/sklearn", SCRIPT_KEY}
    run.candidates = [c for c in run.candidates if c.key in keep]
    run.metrics = [m for m in run.metrics if m.candidate in keep]
    run.samples = [s for s in run.samples if s.candidate in keep]
    text = render_html(run_report(run))
    assert "Misnomer analysis not possible: misnomer analysis: needs at least 3 candidates" in text


def test_recommendation_renders_the_real_result(page):
    from effbench.analysis.selection import DEFAULT_PREFERENCE, recommend

    rec = recommend(make_run(), preference=DEFAULT_PREFERENCE)
    section = page.split('id="recommendation"')[1].split("</section>")[0]
    assert rec.chosen and f"<tr><th>chosen</th><td>{html.escape(rec.chosen)}</td></tr>" in section
    assert "preference</th><td>simplicity, params, latency_p99_s_b1, size_bytes" in section
    assert "Not tested for parity (no predictions)" in section  # the hand-made run stores no predictions
    assert "Left out of the recommendation: gamma/torch" in section and "delta/torch (candidate failed:" in section
    assert html.escape(IMG_ERROR) in section and IMG_ERROR not in section
    assert "details (JSON)" in section


def test_recommendation_says_why_when_impossible_and_does_not_hide_bugs(monkeypatch):
    run = make_run()
    run.samples = []  # no latency: the default preference cannot be met
    page = render_html(run_report(run))
    assert "No recommendation: no model has accuracy and every cost asked (params, latency_p99_s_b1, size_bytes)" in page

    import effbench.analysis.selection as selection

    def broken(*a, **k):
        raise KeyError("a bug")

    monkeypatch.setattr(selection, "recommend", broken)
    with pytest.raises(KeyError):
        render_html(run_report(make_run()))


def test_method_text_matches_the_memory_method(page):
    assert "over the resident memory just before that" in page and "loaded baseline" not in page


def test_cost_cards_data():
    cards = {c.candidate: c for c in cost_cards(make_run())}
    a = cards["alpha/sklearn"]
    assert a.entry("params").provenance == "analytic" and a.entry("params").text == "1k"
    assert "coverage 75% of op calls counted" in a.entry("flops_per_sample").note
    e = a.entry("energy_per_sample_j_best")
    # batch 8: 2e-3 * 0.4 = 0.8 mJ per sample, from cost_table's best_energy_per_sample_j
    assert e.value == pytest.approx(8e-4) and e.provenance == "measured" and "batch 8" in e.label
    assert cards[LATEX_KEY].entry("energy_per_sample_j_b1").provenance == "estimated"
    assert a.entry("train_energy_j").provenance == "estimated"
    assert a.entry("latency_p50_s_best").label.endswith("(8)")
    g = cards["gamma/torch"]
    assert "latency p50 at batch 1" in g.missing and "parameters" not in g.missing
    assert cards[SCRIPT_KEY].setup[0] == ("model", f"{SCRIPT_NAME} model")
    assert dict(cards[SCRIPT_KEY].setup)["precision"] == "float32"
    for card in cards.values():
        for entry in card.entries:
            assert (entry.provenance is None) == entry.missing


def test_format_value_units():
    assert format_value(0.0012, "s") == "1.2 ms"
    assert format_value(2048, "bytes") == "2 KiB"
    assert format_value(5e-4, "J") == "500 µJ"            # effbench.numbers, as the terminal shows it
    assert format_value(34048, "FLOP") == "34k FLOP"
    assert format_value(17226, "count") == "17.2k"        # the terminal's params, not 17,226
    assert format_value(815, "count") == "815"
    assert format_value(None, "s") == "-"


def test_setup_names_hardware_and_versions():
    setup = dict(run_setup(make_run()))
    assert setup["CPU"].startswith("Test CPU <b>9000</b> (4 logical cores")
    assert setup["software"] == "effbench 0.1.0, numpy 2.0"
    assert setup["task"] == "digits: 10 test examples, input shape per sample [64], float32"


# ------------------------------------------------------------------------------- CLI


def test_cli_writes_html_and_refuses_to_overwrite(stored_run, tmp_path, capsys):
    db, run = stored_run
    out = tmp_path / "r.html"
    assert main(["report", run.run_id, "--db", str(db), "--output", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    capsys.readouterr()
    assert main(["report", "latest", "--db", str(db), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert main(["report", "latest", "--db", str(db), "--output", str(out), "--force"]) == 0


def test_cli_unknown_run_is_one_line_exit_2(stored_run, tmp_path, capsys):
    db, _ = stored_run
    assert main(["report", "nope", "--db", str(db), "--output", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("effbench: error: unknown run id 'nope'") and err.count("\n") == 1
    assert not (tmp_path / "x.html").exists()


def test_cli_markdown_latex_and_figures(stored_run, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    db, run = stored_run
    assert main(["report", run.run_id, "--db", str(db), "--format", "latex", "--output", "-"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    md = tmp_path / "t.md"
    figs = tmp_path / "figs"
    assert main(["report", run.run_id, "--db", str(db), "--format", "markdown", "-o", str(md), "--figures", str(figs)]) == 0
    assert md.read_text().count("\n|") >= 6
    names = sorted(p.name for p in figs.iterdir())
    assert names == sorted(f"{n}.{ext}" for n in ("quality_vs_cost", "latency_ecdf_b1", "batch_curves", "energy_per_sample", "tail_quality")
                           for ext in ("png", "svg"))
    assert (figs / "batch_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["report", run.run_id, "--db", str(db), "--format", "markdown", "-o", str(tmp_path / "u.md"), "--figures", str(figs)]) == 2
    assert "already exists" in capsys.readouterr().err
