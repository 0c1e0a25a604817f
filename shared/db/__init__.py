"""Database kernel: pool and transactions, migrations, the event bus and its outbox relay."""

from shared.db.pool import Database, Tx

__all__ = ["Database", "Tx"]
