"""Every statement on ``enums`` and ``enum_versions``: named option lists, versioned
(db.catalog's shared statements, and the creation of a name)."""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import catalog, sql, tx

CATALOG = catalog.Catalog("enums", "enum_name", "enum_versions", ("options",))

_CREATE = """INSERT INTO {schema}.enums (enum_name, created_by) VALUES (?, ?)
ON CONFLICT (enum_name) DO NOTHING"""


def create(dbName, enumName, createdBy, t):
    """Create the name's row unless it exists."""
    tx.update(dbName, sql.bind(_CREATE, dbName), [enumName, createdBy], t)
