"""The app for multi-process serving (`uvicorn smartborders.api.factory:app`): settings from the environment."""

from __future__ import annotations

from smartborders.api.app import create_app
from smartborders.core.db import make_engine
from smartborders.core.settings import get_settings

app = create_app(make_engine(get_settings().resolved_database_url()))
