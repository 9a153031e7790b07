"""How a job's steps are run: directly (the CLI), or as Prefect tasks (the flows pass their own runner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Progress = Callable[[str, int, int], None]
T = TypeVar("T")


class Runner:
    """Runs the steps of a job. This one calls them directly; flows pass one that makes them tasks."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress

    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def each(self, name: str, fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        results = []
        for done, args in enumerate(calls):
            if self.progress:
                self.progress(name, done, len(calls))
            results.append(fn(*args))
        if self.progress:
            self.progress(name, len(calls), len(calls))
        return results
