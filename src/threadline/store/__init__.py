"""Tables, the database handle, migrations, and the SQL that differs between dialects."""

from threadline.store.engine import Store

__all__ = ["Store"]
