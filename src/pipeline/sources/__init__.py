"""The registry: every source the pipeline reads, in the order their figures and report sections come.

A source is one folder below this package (see `pipeline.kit.contract.Source`) plus its Pandera
models in `schemas/<name>.py`; adding one means adding its folder and one line here. `registry`
refuses sources that clash (a figure name, a view or a sample stream used twice).
"""

from pipeline.kit.contract import Source, registry
from pipeline.sources import afspraken, telefonie, zaken

SOURCES: dict[str, Source] = registry(afspraken.SOURCE, telefonie.SOURCE, zaken.SOURCE)

__all__ = ["SOURCES", "Source"]
