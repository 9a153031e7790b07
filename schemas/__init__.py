"""Pandera models of every layer: the raw rows of each source and every aggregate table.

Each model's docstring states its grain (what one row is); `Field(description=...)` is the one
place a column's definition is written, and the warehouse's column comments are taken from it.
"""
