"""The registry: every source the pipeline reads, in the order their figures are published.

A source is one folder below this package (see `pipeline.core.contract.Source`) plus its Pandera
models in `schemas/<name>.py`; adding one means adding its folder and one line here.
"""

from pipeline.core.contract import Source
from pipeline.sources import afspraken, telefonie, zaken

SOURCES: dict[str, Source] = {s.name: s for s in (afspraken.SOURCE, telefonie.SOURCE, zaken.SOURCE)}

__all__ = ["SOURCES", "Source"]
