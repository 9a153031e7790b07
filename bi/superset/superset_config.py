"""Superset's configuration for `make bi-check` (bi/superset/check.py): a throwaway instance on 127.0.0.1.

Read by Superset through SUPERSET_CONFIG_PATH. The metadata database and the secret key are made
for one check and thrown away with its folder (BI_CHECK_HOME); nothing leaves the machine: no
example data, no thumbnails or reports, no asynchronous queries, and a content security policy that
lets a browser opened on it load nothing from elsewhere (Superset's own pages embed a usage pixel).
"""

import os

HOME = os.environ["BI_CHECK_HOME"]
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME}/superset.db"

# Only the check's own client calls the API, with a bearer token, on loopback.
WTF_CSRF_ENABLED = False
RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False

# Nothing fetched from elsewhere, nothing sent.
FEATURE_FLAGS = {"THUMBNAILS": False, "ALERT_REPORTS": False, "GLOBAL_ASYNC_QUERIES": False}
MAPBOX_API_KEY = ""
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "script-src": ["'self'", "'strict-dynamic'"],
        "object-src": "'none'",
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False
