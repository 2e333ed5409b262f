"""Alembic environment: migrations run on the connection ndoo hands over."""

from __future__ import annotations

from alembic import context

from ndoo.db.models import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
