"""`pipeline report --format html|markdown`: the municipality's report section from the warehouse (issue 4 part 5).

The warehouse below is made so that the figures of 2020 against 2019 are the published ones in
miniature: counter visits -38%, calls +2%, 73% of calls via 14 030 against 66%, reachability 88% both
years, April 2020 the quietest month at the counters and the busiest on the phone. The statements
must come out of the warehouse, not out of the template.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.report import html as html_report
from tests.sources.afspraken.lines import APPT_HEADER_NO_PII
from tests.sources.telefonie.lines import CALL_HEADER_NO_PII
from tests.support.deliveries import Landing, write

CHROMIUM = Path("/usr/bin/chromium")
# year: (Utrecht calls, of which via 14 030, calls sent on to other municipalities, counter visits,
#        video appointments, phone appointments, monthly weights of calls, monthly weights of visits)
YEARS = {
    2019: (3650, 2409, 300, 1000, 0, 50, [1] * 12, [1] * 12),
    2020: (
        3723,
        2718,
        200,
        620,
        80,
        120,
        [1, 1, 1.6, 2.6, 1, 1, 1, 1, 1, 1, 1, 1],
        [2, 2, 1, 0.2, 1, 1, 1, 1, 1, 1, 1, 1],
    ),
}
FORWARDED = ("Zeist", "Houten", "Nieuwegein", "IJsselstein")


def _spread(total: int, weights: list[float]) -> list[int]:
    """`total` over the months by weight, exactly."""
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def _deliveries(raw: Path) -> None:
    for year, (calls, via_14030, forwarded, visits, video, phone, call_weights, visit_weights) in YEARS.items():
        index = 0
        for month, n in enumerate(_spread(calls, call_weights), 1):
            day = dt.date(year, month, 15)
            lines = []
            for _ in range(n):
                nummer, keuze = ("14030", ("Utrecht", "Overig", "Geen keuze")[index % 3])
                if index >= via_14030:
                    nummer, keuze = "0302860000", ""
                answered = index % 25 >= 3  # 88% answered
                outcome, duur = ("beantwoord", 120) if answered else ("verbroken", 0)
                lines.append(f"u{year}-{index};{day}T10:00:00Z;{nummer};{keuze};Algemeen;{outcome};40;{duur}")
                index += 1
            if month == 6:
                for i in range(forwarded):
                    choice = FORWARDED[i % 4]
                    lines.append(f"f{year}-{i};{day}T11:00:00Z;14 030;{choice};;doorgeschakeld;5;0")
            write(raw / "telefonie" / f"telefonie_{year}{month:02d}16.csv", CALL_HEADER_NO_PII, lines)
        index = 0
        for month, n in enumerate(_spread(visits, visit_weights), 1):
            day = dt.date(year, month, 15)
            lines = []
            kinds = [("balie", "Stadskantoor")] * n
            if month == 9:
                kinds += [("video", "Stadskantoor")] * video + [("telefoon", "Stadskantoor")] * phone
            for kanaal, locatie in kinds:
                lines.append(
                    f"a{year}-{index};{locatie};{kanaal};Paspoort;{day:%d-%m-%Y};10:00;verschenen;{day}T18:00:00+01:00"
                )
                index += 1
            write(raw / "afspraken" / f"afspraken_{year}{month:02d}16.csv", APPT_HEADER_NO_PII, lines)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = Landing(tmp_path_factory.mktemp("report"))
    _deliveries(landing.raw)
    published = landing.run("backfill")
    assert published.summary.status == "voltooid"
    return published.path


@pytest.fixture(scope="module")
def page(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "verslag.html"
    result = CliRunner().invoke(app, ["report", "--warehouse", str(warehouse), "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _text(markup: str) -> str:
    """The page's visible text, without tags or charts, whitespace collapsed."""
    markup = re.sub(r"<svg.*?</svg>", " ", markup, flags=re.DOTALL)
    markup = re.sub(r"<style.*?</style>", " ", markup, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


STATEMENTS = (
    "Het aantal baliebezoeken met afspraak is in 2020 sterk teruggelopen (-38%): van 1.000 in 2019 naar 620 in 2020.",
    "De rustigste maand aan de balie was april",
    "In 2020 is er iets meer gebeld naar de gemeente dan in 2019 (+2%).",
    "In 2020 kwamen in totaal 3.723 telefoontjes binnen, wat neerkomt op gemiddeld 10 telefoontjes per dag.",
    "De drukste maand aan de telefoon was april",
    "In 2020 wordt het korte nummer 14 030 bij bijna drie kwart (73%) van de oproepen gebruikt",
    "In 2019 was dit percentage nog 66%.",
    "De telefonische bereikbaarheid van het Klantcontactcentrum is met 88% gelijk gebleven.",
)


@pytest.mark.slow
def test_markdown_gives_the_table_and_the_statements_computed_from_the_warehouse(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--warehouse", str(warehouse), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "| aantal baliebezoeken* met afspraak | 1.000 | 620 |" in text
    assert "| aantal telefoontjes naar gemeente | 3.650 | 3.723 |" in text
    assert "| aantal telefoontjes via 14030 | 2.409 | 2.718 |" in text
    assert "| % telefonische bereikbaarheid | 88 | 88 |" in text
    for statement in STATEMENTS:
        assert statement in text, statement


@pytest.mark.slow
def test_statements_follow_the_figures_of_the_chosen_year(warehouse: Path) -> None:
    data = html_report.read(warehouse, 2019)
    said = " ".join(s.text for s in data.sections)
    assert "2018" not in said and "%)" not in said.split("14 030")[0], "no year before: no change is stated"
    assert (
        "In 2019 kwamen in totaal 3.650 telefoontjes binnen, wat neerkomt op gemiddeld 10 telefoontjes per dag." in said
    )
    assert "bij bijna twee derde (66%) van de oproepen" in said
    assert "De telefonische bereikbaarheid van het Klantcontactcentrum is 88%." in said
    assert html_report.read(warehouse).jaar == 2020, "by default the last year with December figures"


def test_the_table_and_csv_formats_still_print_the_table(warehouse: Path) -> None:
    runner = CliRunner()
    for form in ("table", "csv"):
        result = runner.invoke(app, ["report", "--warehouse", str(warehouse), "--format", form])
        assert result.exit_code == 0, result.output
        assert "3.723" in result.output and "-38" in result.output


def test_html_needs_an_output_file(warehouse: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--warehouse", str(warehouse), "--format", "html"])
    assert result.exit_code == 1 and "--out" in result.output


class _Structure(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "action", "poster", "data"} and value:
                self.references.append(value)


def test_html_is_one_self_contained_page_with_table_statements_and_charts(page: Path) -> None:
    markup = page.read_text(encoding="utf-8")
    structure = _Structure()
    structure.feed(markup)
    assert structure.tags.count("svg") == 4, "charts: visits per month, calls per month, channel mix, 14 030 menu"
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(structure.tags)
    assert all(ref.startswith("#") for ref in structure.references), "only references inside the page"
    assert "@import" not in markup and "@font-face" not in markup and "url(http" not in markup
    outside = {m for m in re.findall(r"https?://[^\s\"')]+", markup)}
    assert outside <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, "only XML namespace names"
    assert "Content-Security-Policy" in markup

    text = _text(markup)
    for statement in STATEMENTS:
        assert statement in text, statement
    assert "3.723" in text and "2.718" in text
    assert "16.6" in text, "the Global Goals target the figures serve"
    assert "aantal telefoontjes via 14030" in text and "het deel van telefoontjes_gemeente" in text, "definitions"
    for caption in ("piek in april 2020", "dal in april 2020"):
        assert caption in text
    assert re.search(r'<svg[^>]*role="img"', markup)


@pytest.mark.slow  # a browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_html_renders_offline_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    from PIL import Image

    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no name resolves
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    screenshot = tmp_path / "verslag.png"
    done = subprocess.run(
        [
            str(CHROMIUM),
            *flags,
            "--hide-scrollbars",
            "--window-size=1000,3200",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1000, 3200)
    colours = image.getcolors(maxcolors=1 << 20) or []
    blue = sum(n for n, (r, g, b) in colours if abs(r - 0x1F) < 40 and abs(g - 0x5F) < 40 and abs(b - 0xA8) < 40)
    red = sum(n for n, (r, g, b) in colours if abs(r - 0xC8) < 40 and g < 60 and b < 80)
    assert blue > 2_000, "the calls line and the phone channel are drawn"
    assert red > 5_000, "the counter visits line and the channel bars are drawn"
    assert len(colours) > 50, "more than a blank page"
