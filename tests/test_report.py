"""Reports legal reads: the audit report (HTML, Markdown, PDF) and the pathway page.

Vendor text is data, never markup, in every format; a missing template value
fails the render; time in each stage comes from the entries' timestamps; and
one rendered page is looked at as a person would (a headless Chromium
screenshot in ``test-output/``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFINITIONS, ROOT, FakeClock, need_tool
from markupsafe import escape
from test_export import PRICING, REVISED, Record, build_record

CHROMIUM = Path("/usr/bin/chromium")
SNAPSHOTS = ROOT / "test-output"


@pytest.fixture
def record(engine: Any, clock: FakeClock, tmp_path: Path) -> Record:
    return build_record(engine, clock, tmp_path / "input")


def report_of(record: Record, fmt: str, *, public: bool = False) -> str:
    from engine.report import build_report, report_text

    return report_text(build_report(record.engine, record.proposal, public=public), fmt)


# --- time in each stage (a pure function) ---------------------------------------------------------


def _e(kind: str, at: str, to: str | None, source: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "at": f"2026-03-{at}Z", "from": source, "to": to}


def test_time_in_stages_counts_moves_not_recordings_or_refusals() -> None:
    from engine.report import StageTime, time_in_stages

    entries = [_e("intake", "02T09:00:00.000000", "received"),
               _e("refusal", "02T10:00:00.000000", "accepted", "received"),
               _e("transition", "03T09:00:00.000000", "review", "received"),
               _e("transition", "03T12:00:00.000000", "review", "review"),  # recording data: no move
               _e("transition", "04T09:00:00.000000", "received", "review"),  # sent back
               _e("transition", "04T10:00:00.000000", "review", "received"),
               _e("transition", "05T10:00:00.000000", "accepted", "review")]
    now = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert time_in_stages(entries, now, finals={"accepted"}) == [
        StageTime("received", 2, 86400 + 3600, False, False),
        StageTime("review", 2, 86400 + 86400, False, False),
        StageTime("accepted", 1, None, False, True),
    ]


def test_time_in_the_current_stage_runs_to_the_report_time() -> None:
    from engine.report import StageTime, time_in_stages

    entries = [_e("intake", "02T09:00:00.000000", "received")]
    now = dt.datetime(2026, 3, 2, 21, 30, tzinfo=dt.UTC)
    assert time_in_stages(entries, now) == [StageTime("received", 1, 12.5 * 3600, True, False)]


def test_durations_read_like_a_person_writes_them() -> None:
    from engine.rendering import duration

    assert [duration(s) for s in (None, 9, 61, 2 * 3600 + 300, 3 * 86400 + 4 * 3600 + 59)] == [
        "—", "9 s", "1 min 1 s", "2 h 5 min", "3 d 4 h"]


# --- escaping, strictness -------------------------------------------------------------------------


def test_markdown_escape_leaves_no_syntax_active() -> None:
    from engine.rendering import md_escape

    out = md_escape("<b>x</b> [a](javascript:1) *b* _c_ `d` # e | f {{ 7*7 }}\nsecond")
    assert out == ("&lt;b&gt;x&lt;/b&gt; \\[a\\]\\(javascript:1\\) \\*b\\* \\_c\\_ \\`d\\` \\# e \\| f "
                   "\\{\\{ 7\\*7 \\}\\}<br>second")


def test_css_string_cannot_close_the_string_or_the_style() -> None:
    from engine.rendering import css_string

    out = str(css_string('a"b</style>\\c'))
    assert out.startswith('"') and out.endswith('"') and '"' not in out[1:-1]
    assert "<" not in out and "\\5c " in out


def test_a_missing_template_value_fails_instead_of_printing_blank() -> None:
    from jinja2 import UndefinedError

    from engine.rendering import environment

    env = environment()
    assert env.autoescape is True
    with pytest.raises(UndefinedError):
        env.from_string("Awarded to {{ vendor }}").render()
    assert env.from_string("{{ v }}").render(v="<i>") == "&lt;i&gt;"


def test_templates_load_from_the_installed_package() -> None:
    from importlib import resources

    from engine.export import verifier_source

    folder = resources.files("engine.templates")
    for name in ("report.html.j2", "report.md.j2", "docs.html.j2", "_page.html.j2", "report.css", "verify.py"):
        assert folder.joinpath(name).is_file(), name
    template = (ROOT / "templates" / "verify.py").read_bytes()  # the bundle's verify.py is generated from it
    assert verifier_source().startswith(template.split(b"# BEGIN LOG VERIFIERS")[0])


# --- vendor text stays text in every report --------------------------------------------------------


def test_html_report_shows_vendor_markup_and_template_syntax_as_text(record: Record) -> None:
    page = report_of(record, "html")
    assert "<script" not in page.lower()
    assert ("Acme &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; {{ 7*7 }} {% raw %} "
            "[click](javascript:alert(1))") in page
    assert 'href="javascript' not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_markdown_report_shows_vendor_text_inertly(record: Record) -> None:
    text = report_of(record, "md")
    assert "<script" not in text.lower() and "](javascript" not in text and "{{ 7" not in text
    assert ("Acme &lt;script&gt;alert\\('x'\\)&lt;/script&gt; \\{\\{ 7\\*7 \\}\\} \\{% raw %\\} "
            "\\[click\\]\\(javascript:alert\\(1\\)\\)") in text
    import markdown_it  # declared in the 'test' extra

    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in rendered and "<a " not in rendered
    assert "Acme &lt;script&gt;alert('x')&lt;/script&gt; {{ 7*7 }} {% raw %} [click](javascript:alert(1))" in rendered


def test_pathway_page_escapes_definition_text(tmp_path: Path) -> None:
    from test_export import MINI_YAML

    from engine.docs import docs_html
    from pathways import load

    source = MINI_YAML.replace("A small pathway for the export tests.", "A <script>alert(1)</script> {{ 7*7 }} test.")
    (tmp_path / "mini.yaml").write_text(source, encoding="utf-8")
    page = docs_html(load(tmp_path / "mini.yaml"), "2026-03-02T09:00:00.000000Z")
    assert "<script" not in page.lower()
    assert "A &lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} test." in page


# --- what the report tells legal --------------------------------------------------------------------


def test_report_tells_the_whole_story(record: Record) -> None:
    page = report_of(record, "html")
    shown = record.engine.show(record.proposal)
    for needle in (
        "Audit report: mini-0001", "Unsolicited proposal review (test pathway)", shown["head"], shown["sha256"],
        "acting as <strong>intake_officer</strong>", "acting as <strong>evaluator</strong>",
        "start_review: received → review", "accept: review → accepted",
        "refused attempt", "the evaluation score is below 50", "&#39;return_proposal&#39; requires a written "
        "rationale", "✗ failed", "✓ passed", "FAR 15.607", "Meets the criteria; see the scoring sheet.",
        "legend.pdf", "award.pdf", "draft-award.pdf", "FAR 15.609", "Time in each stage",
        "3 d 2 h", "contains confidential data", PRICING, REVISED,
    ):
        assert needle in page, needle
    assert page.count('class="event refusal"') == 2
    for entry in record.engine.entries(record.proposal):
        assert entry.hash in page
    for content in record.attachments.values():
        assert hashlib.sha256(content).hexdigest() in page


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
MADRID = "name: Ciudad de prueba\ntime_zone: Europe/Madrid\ncurrency: EUR\n"


def _madrid() -> Any:
    from pathways.city import check

    city, problems = check(MADRID, "<test city>")
    assert city is not None, problems
    return city


def test_reports_show_amounts_and_local_times_for_people(record: Record) -> None:
    """The city's currency and zone, to the minute, in every human format; the UTC instant stays in the HTML's
    <time datetime> for machines. The intake was at 2026-03-02 09:00 UTC: 10:00 in Madrid (CET)."""
    from engine.report import build_report, report_text

    report = build_report(record.engine, record.proposal, public=False, city=_madrid())
    first = record.engine.history(record.proposal)[0]["at"]
    assert first.startswith("2026-03-02T09:00:00")
    html_page, md_page = report_text(report, "html"), report_text(report, "md")
    assert f'<time datetime="{first}">2026-03-02 10:00 CET</time> by ana' in html_page
    assert '<span class="rationale">€12,000.00</span>' in html_page
    assert "| Opened | 2026-03-02 10:00 CET by ana |" in md_page and "| value | €12,000.00 |" in md_page
    assert "- When: 2026-03-05 12:00 CET" in md_page  # after 3 d 2 h
    visible = re.sub(r"<[^>]+>", " ", html_page.split("</style>")[-1])
    assert not ISO_TIME.search(visible) and not ISO_TIME.search(md_page)
    assert '<span class="rationale">12000</span>' not in html_page and "| value | 12000 |" not in md_page


def test_machine_files_keep_canonical_strings_and_utc(record: Record, tmp_path: Path) -> None:
    from engine.export import export

    folder = export(record.engine, record.proposal, tmp_path / "b", city=_madrid()).folder
    intake = json.loads((folder / "trail.jsonl").read_bytes().splitlines()[0])
    assert intake["input"]["value"] == "12000" and intake["at"].endswith("Z")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["exported_at"].endswith("Z") and ISO_TIME.match(manifest["exported_at"])
    readme = (folder / "README.txt").read_text()
    assert re.search(r"exported \d{4}-\d\d-\d\d \d\d:\d\d CES?T \(" + re.escape(manifest["exported_at"]) + r"\)",
                     readme), readme[:400]


def test_the_cli_report_uses_the_city_file(record: Record, db_url: str, runner: Any, tmp_path: Path) -> None:
    from cli import cli

    city = tmp_path / "city.yaml"
    city.write_text(MADRID, encoding="utf-8")
    out = tmp_path / "r.md"
    done = runner.invoke(cli, ["--db", db_url, "--city", str(city), "report", record.proposal, "--format", "md",
                               "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "| value | €12,000.00 |" in out.read_text()


def test_head_hash_is_on_every_printed_page(record: Record) -> None:
    page = report_of(record, "html")
    head = record.engine.show(record.proposal)["head"]
    style = page.split("<style>")[1].split("</style>")[0]
    assert re.search(r'@top-left \{ content: "mini-0001 [^"]*head ' + head + r' ?"', style)
    assert "position: fixed" in style
    assert f'<footer class="running-foot">mini-0001 · 6 entries · head {head}</footer>' in page


def test_public_report_withholds_and_says_why(record: Record) -> None:
    for fmt in ("html", "md"):
        text = report_of(record, fmt, public=True)
        assert PRICING not in text and REVISED not in text
        assert "declared confidential in pathway mini v1" in text
        assert "FAR 15.609" in text


def test_pdf_report_has_the_head_hash_on_every_page(record: Record, tmp_path: Path) -> None:
    try:
        import weasyprint  # noqa: F401 - the 'pdf' extra, with Pango from the OS
    except (ImportError, OSError) as exc:
        need_tool(f"WeasyPrint cannot be imported ({exc}): pip install '.[pdf]' on a system with Pango")
    if shutil.which("pdftotext") is None:
        need_tool("pdftotext (poppler-utils) is not installed")
    from engine.report import build_report, report_bytes

    pdf = report_bytes(build_report(record.engine, record.proposal, public=False), "pdf")
    assert pdf.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    head = record.engine.show(record.proposal)["head"]
    assert len(pages) >= 2
    assert all(head in p.replace(" ", "") for p in pages)


def test_pdf_without_weasyprint_exits_2_with_the_fix(record: Record, db_url: str, runner: Any,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cli import cli

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # what an install without the extra looks like
    result = runner.invoke(cli, ["--db", db_url, "report", record.proposal, "--format", "pdf",
                                 "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: PDF output needs WeasyPrint: pip install 'procurement-pathways[pdf]'")
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_cli_report_writes_the_file(record: Record, db_url: str, runner: Any, tmp_path: Path, fmt: str) -> None:
    from cli import cli

    out = tmp_path / f"report.{fmt}"
    result = runner.invoke(cli, ["--db", db_url, "report", record.proposal, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert record.engine.show(record.proposal)["head"] in out.read_text(encoding="utf-8")


# --- the pathway page ---------------------------------------------------------------------------------


def test_pathway_page_states_every_rule(runner: Any, tmp_path: Path) -> None:
    from cli import cli
    from pathways import load

    out = tmp_path / "pilot.html"
    result = runner.invoke(cli, ["docs", str(DEFINITIONS / "pilot.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    p = load(DEFINITIONS / "pilot.yaml")
    for name, stage in p.stages.items():
        assert f"<strong>{name}</strong>" in page and escape(stage.description) in page
    for n, t in enumerate(p.transitions, 1):
        assert f"T{n}</span> <span class=\"move\">{t.trigger}:" in page
        for g in t.guards:
            assert escape(g.message) in page and escape(g.check) in page
    for c in p.legal_basis:
        assert escape(c.cite) in page
    assert "<svg class=\"diagram\"" in page and "stateDiagram-v2" in page
    assert "vendor_pricing" in page and "kept out of audit entries" in page
    assert "<script" not in page.lower() and "://" not in page.replace("http://www.w3.org/2000/svg", "")


# --- looked at as a person would ----------------------------------------------------------------------


def _png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and a sample of distinct pixels of an 8-bit RGB(A) PNG, with the standard library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    raw = zlib.decompress(idat)
    size = 3 if colour == 2 else 4
    stride = width * size + 1
    sample = {raw[i:i + size] for row in range(0, height, 7)
              for i in range(row * stride + 1, (row + 1) * stride, size * 5)}
    return width, height, sample


@pytest.mark.browser
def test_report_snapshot_renders_readably(record: Record, tmp_path: Path) -> None:
    """Chromium renders the bundle's report to test-output/report.png; a person looks at it (see the note)."""
    if not CHROMIUM.exists():
        need_tool("Debian's chromium is not installed (apt-get install chromium)")
    from engine.docs import docs_html
    from engine.export import export
    from pathways import load

    bundle = export(record.engine, record.proposal, tmp_path / "bundle").folder
    SNAPSHOTS.mkdir(exist_ok=True)
    pages = {"report.png": bundle / "report.html", "pilot-docs.png": tmp_path / "pilot.html"}
    pages["pilot-docs.png"].write_text(docs_html(load(DEFINITIONS / "pilot.yaml"), "2026-03-02T09:00:00Z"),
                                       encoding="utf-8")
    for name, page in pages.items():
        shot = SNAPSHOTS / name
        shot.unlink(missing_ok=True)
        subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                       capture_output=True, timeout=120)
        assert shot.exists(), f"chromium wrote no {name}"  # it exits 0 even when it fails
        width, height, colours = _png_pixels(shot.read_bytes())
        assert (width, height) == (1200, 1600)
        assert shot.stat().st_size > 40_000 and len(colours) > 20, f"{name} looks blank"
    (SNAPSHOTS / "report.html").write_bytes((bundle / "report.html").read_bytes())
    assert json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["entries"] == 6
