"""The BI-facing warehouse: key figures assembled from the sources, definitions, and the atomic switch."""

from pipeline.publish.write import publish

__all__ = ["publish"]
