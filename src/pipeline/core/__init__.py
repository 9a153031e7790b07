"""Generic building blocks that know no source and no run: settings, files, CSV, DuckDB, figures, calendar."""
