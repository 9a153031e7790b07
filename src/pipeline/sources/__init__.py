"""One module per raw source; adding a source means adding a module and listing it here."""

from pipeline.sources import afspraken, telefonie
from pipeline.sources.base import Source

SOURCES: dict[str, Source] = {s.name: s for s in (telefonie.SOURCE, afspraken.SOURCE)}

__all__ = ["SOURCES", "Source"]
