"""What every published table, column and figure means, assembled from the declarations.

Nothing is looked up by a column's name alone: a column of a generic table is defined in that table's
declaration (`src/pipeline/publish/tables.py`), a figure by its own declaration, a column of a source's table by
the source (or, where the source says so, by the shared period columns). A column without a
definition is a `LayoutError`, raised before anything is written.
"""

from __future__ import annotations

from pipeline.kit.contract import AnyFigure, Column, ContractError, Figure, Ratio, Recomputed, Sum, Unit
from pipeline.publish.kerncijfers import figures_of
from pipeline.publish.tables import PERIOD, SDG_DOEL, SDG_OMSCHRIJVING, TABLES
from pipeline.sources import SOURCES

# The published name of each figure table, and the grain whose figures it holds.
FIGURE_GRAINS = {"kerncijfers": "jaar", "kerncijfers_maand": "maand", "kerncijfers_dag": "dag"}


class LayoutError(Exception):
    """The published file would hold something nobody defined; the message lists every such place."""


def table_comments() -> dict[str, str]:
    """Every published table's definition, in the order a BI user meets them: the generic ones, then
    each source's, in the registry's order."""
    found = {name: table.definition for name, table in TABLES.items()}
    for source in SOURCES.values():
        found.update(source.view_comments)
    return found


def column(table: str, name: str) -> Column:
    """The definition and kind of a published column; LayoutError when nobody defined it."""
    if table in FIGURE_GRAINS:
        figures = {f.name: f for f in figures_of(FIGURE_GRAINS[table])}
        if name in figures:
            return Column(figures[name].definition, figures[name].kind)
        if name in PERIOD:
            return PERIOD[name]
        raise LayoutError(f"{table}.{name}: neither a declared figure nor a period column")
    if table in TABLES:
        columns = TABLES[table].columns or {}
        if name not in columns:
            raise LayoutError(f"{table}.{name}: not declared in src/pipeline/publish/tables.py")
        return columns[name]
    for source in SOURCES.values():
        if table in source.view_comments:
            try:
                own = source.column(table, name)
            except ContractError as problem:
                raise LayoutError(str(problem)) from None
            if own is not None:
                return own
            if name not in PERIOD:
                raise LayoutError(f"{table}.{name}: taken from the shared definitions, which have none for it")
            return PERIOD[name]
    raise LayoutError(f"{table}: a table no declaration defines")


def _rounding(figure: AnyFigure) -> str:
    if figure.whole:
        return "geen: een heel getal"
    step = "een heel getal" if figure.decimals == 0 else "0," + "0" * (figure.decimals - 1) + "1"
    if figure.unit is Unit.PERCENT_CHANGE:
        return f"op {step}, halven van nul af (met teken)"
    return f"half naar boven op {step}"


def aggregation(figure: AnyFigure) -> dict[str, str | None]:
    """How a figure combines over periods, for `definities`: what, its numerator and denominator, and
    the SQL of a BI metric over the day or month table (none for what cannot be combined)."""
    if not isinstance(figure, Figure):
        return {"aggregatie": "alleen per jaar", "teller": None, "noemer": None, "bi_metriek": None}
    how = figure.aggregation
    if isinstance(how, Sum):
        return {"aggregatie": "som", "teller": None, "noemer": None, "bi_metriek": f"SUM({figure.name})"}
    if isinstance(how, Ratio):
        metric = f"{how.scale}.0 * SUM({how.numerator}) / NULLIF(SUM({how.denominator}), 0)"
        return {"aggregatie": "verhouding", "teller": how.numerator, "noemer": how.denominator, "bi_metriek": metric}
    assert isinstance(how, Recomputed)
    return {"aggregatie": f"niet optelbaar: {how.what}", "teller": None, "noemer": None, "bi_metriek": None}


def definities() -> list[dict[str, object]]:
    """One row per figure of the yearly table, in its order: the contents of the table `definities`."""
    system = {f.name: source.system for source in SOURCES.values() for f in source.all_figures}
    return [
        {
            "cijfer": figure.name,
            "volgorde": position,
            "label": figure.label.replace("*", ""),  # the footnote mark belongs to the printed table
            "definitie": figure.definition,
            "eenheid": figure.unit.dutch,
            "decimalen": figure.decimals,
            "afronding": _rounding(figure),
            **aggregation(figure),
            "bronsysteem": system[figure.name],
            "gepubliceerd_in": figure.published_in,
            "sdg_doel": SDG_DOEL,
            "sdg_omschrijving": SDG_OMSCHRIJVING,
        }
        for position, figure in enumerate(figures_of("jaar"), 1)
    ]
