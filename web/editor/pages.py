"""Imports every editor page module so its routes land on the blueprint (one line per page)."""
from web.editor import reports  # noqa: F401
from web.editor import gaps  # noqa: F401
from web.editor import review  # noqa: F401
