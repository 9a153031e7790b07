"""Names that look unused to vulture because a framework reads them by reflection (`make lint`).

Keep it short: every line says who uses the name. Anything else vulture reports is dead code: delete it.
"""

# ruff: noqa: B018
# mypy: ignore-errors
from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# pydantic-settings calls its validators and reads `model_config` (core/settings.py).
_._expand
_._known_storage_version
_._comma_separated
_._known_holidays
_.model_config
# Typer offers an enum's members as the choices of an option (cli.py).
_.parquet
_.xlsx
# The contract's vocabulary of Pandera rules: a source's reasons name the ones its model uses.
_.REQUIRED
_.ALLOWED
_.NOT_ALLOWED
_.LENGTH
_.PATTERN
_.MINIMUM
_.ABOVE
_.MAXIMUM
_.BELOW
_.RANGE
# Pandera reads a model's `Config` (kit/models.py: RawRow, which the sources' row models inherit).
_.Config
_.strict
_.coerce
# A source's sample profile: the standard tests of every source generate its `example` year.
_.example
# A published moment's kind: the tables of the published file declare theirs with it (src/pipeline/publish/tables.py).
_.MOMENT
# Named in a string cast only (bench/served.py).
_.FlowRun
# The context manager protocol's third argument (run/uow.py).
_.trace
# Superset reads its configuration module's globals (bi/superset/superset_config.py).
_.SECRET_KEY
_.SQLALCHEMY_DATABASE_URI
_.WTF_CSRF_ENABLED
_.RATELIMIT_ENABLED
_.AUTH_RATE_LIMITED
_.FEATURE_FLAGS
_.MAPBOX_API_KEY
_.CACHE_CONFIG
_.DATA_CACHE_CONFIG
_.TALISMAN_ENABLED
_.TALISMAN_CONFIG
_.CONTENT_SECURITY_POLICY_WARNING
# The pure readers, kept as the oracle the fast paths are tested against (tests/core/test_csvbatch.py,
# tests/test_readers_properties.py), and the fields those tests compare.
_.read_csv_table
_.read_deliveries
_.personal_kind
_.extra_columns
_.header_width
