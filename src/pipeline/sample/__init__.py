"""Sample deliveries for trying the pipeline and for its tests and benchmarks: `generate`."""

from pipeline.sample.generate import GenerateSummary, generate, load_targets

__all__ = ["GenerateSummary", "generate", "load_targets"]
