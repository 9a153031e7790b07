"""What every published view, column and figure means, assembled from the sources' declarations."""

from __future__ import annotations

from pipeline.publish.kerncijfers import figures_of
from pipeline.sources import SOURCES
from schemas.kerncijfers import PERIODE
from schemas.published import (
    COLUMN_COMMENTS,
    SDG_DOEL,
    SDG_OMSCHRIJVING,
    VIEW_COLUMN_COMMENTS,
    VIEW_COMMENTS,
    eenheid,
)


def view_comments() -> dict[str, str]:
    """Every BI view's definition: the generic ones, then each source's."""
    found = dict(VIEW_COMMENTS)
    for source in SOURCES.values():
        found.update(source.view_comments)
    return found


def column_comment(view: str, column: str) -> str:
    """A column's definition as shown on `view`: the owning source's wording first, then the figure's,
    then the generic one."""
    for source in SOURCES.values():
        if view in source.view_comments and column in source.column_comments:
            return source.column_comments[column]
    figures = {f.name: f.definition for f in figures_of("jaar")}
    if column in figures:
        return figures[column]
    if column in PERIODE:
        return PERIODE[column]
    return VIEW_COLUMN_COMMENTS.get((view, column), COLUMN_COMMENTS[column])


def definities() -> list[dict[str, object]]:
    """One row per figure of the yearly table, in its order: the contents of the view `definities`."""
    system = {f.name: source.system for source in SOURCES.values() for f in source.all_figures}
    return [
        {
            "cijfer": figure.name,
            "volgorde": position,
            "label": figure.label.replace("*", ""),  # the footnote mark belongs to the printed table
            "definitie": figure.definition,
            "eenheid": eenheid(figure.name),
            "bronsysteem": system[figure.name],
            "gepubliceerd_in": figure.published_in,
            "sdg_doel": SDG_DOEL,
            "sdg_omschrijving": SDG_OMSCHRIJVING,
        }
        for position, figure in enumerate(figures_of("jaar"), 1)
    ]
