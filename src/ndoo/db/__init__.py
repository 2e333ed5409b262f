"""Storage: the models, their migrations, and sessions on SQLite or PostgreSQL."""

from ndoo.db.engine import Database

__all__ = ["Database"]
