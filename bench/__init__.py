"""Benchmarks (`make bench`, `make bench-large`): the pipeline beside a plain Polars floor and a pandas
peer run on the same files in the same invocation, each measured in a process of its own."""
