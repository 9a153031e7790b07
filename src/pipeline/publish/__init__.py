"""The BI-facing warehouse: key figures assembled from the sources, definitions, and the atomic switch."""

from pipeline.publish.definitions import LayoutError
from pipeline.publish.write import check_layout, publish

__all__ = ["LayoutError", "check_layout", "publish"]
