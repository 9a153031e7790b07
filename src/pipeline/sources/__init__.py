"""The registry: every source the pipeline reads, in the order their figures and report sections come.

A source is one folder below this package (see `pipeline.kit.contract.Source`) plus its Pandera
models in `schemas/<name>.py`; adding one means adding its folder, its model and its name to
`ORDER`, nothing else (import-linter covers it by wildcards). `registry` refuses sources that clash
(a figure name, a view or a sample stream used twice).
"""

from importlib import import_module

from pipeline.kit.contract import Source, registry

ORDER = ("afspraken", "telefonie", "zaken")

SOURCES: dict[str, Source] = registry(*(import_module(f"{__name__}.{name}").SOURCE for name in ORDER))

__all__ = ["ORDER", "SOURCES", "Source"]
