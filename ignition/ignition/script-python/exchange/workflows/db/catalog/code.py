"""The statements every versioned catalog (enums, templates) shares, over its two tables:
one row per name (locked by each change, numbering the versions) and its versions.

A ``Catalog`` is built once per kind from constant table and column names (never from a
caller's input); db.enums and db.templates hold theirs and the statements of their own.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows.db import sql, tx

VERSION_COLUMNS = ("name", "version", "status", "created_by", "created_at_ms",
                   "changed_at_ms")


class Catalog(object):
    """The statements of catalog ``heads`` (key column ``key``) and its ``versions`` table,
    whose content columns are ``content`` (jsonb)."""

    def __init__(self, heads, key, versions, content):
        self.content = content
        names = {"heads": heads, "key": key, "versions": versions}
        selected = ", ".join("%s::text" % c for c in content)
        names["select"] = ("SELECT %(key)s, version, status, created_by, created_at_ms, "
                           "changed_at_ms, " % names) + selected + \
            " FROM {schema}.%(versions)s" % names
        self._lock = "SELECT latest_version FROM {schema}.%(heads)s " \
                     "WHERE %(key)s = ? FOR UPDATE" % names
        self._bump = "UPDATE {schema}.%(heads)s SET latest_version = latest_version + 1 " \
                     "WHERE %(key)s = ? RETURNING latest_version" % names
        self._insert = ("INSERT INTO {schema}.%(versions)s (%(key)s, version, created_by, "
                        % names) + ", ".join(content) + ") VALUES (?, ?, ?" + \
            ", CAST(? AS jsonb)" * len(content) + ")"
        self._status = "UPDATE {schema}.%(versions)s SET status = ?, " \
                       "changed_at_ms = {schema}.now_ms() " \
                       "WHERE %(key)s = ? AND version = ? AND status = ?" % names
        self._retireActive = "UPDATE {schema}.%(versions)s SET status = 'RETIRED', " \
                             "changed_at_ms = {schema}.now_ms() " \
                             "WHERE %(key)s = ? AND (status = 'ACTIVE') IS TRUE" % names
        self._one = names["select"] + " WHERE %(key)s = ? AND version = ?" % names
        self._active = names["select"] + " WHERE %(key)s = ? AND (status = 'ACTIVE') IS TRUE" \
            % names
        self._all = names["select"] + " WHERE %(key)s = ? ORDER BY version" % names
        self._names = ("SELECT h.%(key)s, h.latest_version, a.version FROM {schema}.%(heads)s h "
                       "LEFT JOIN {schema}.%(versions)s a ON a.%(key)s = h.%(key)s "
                       "AND (a.status = 'ACTIVE') IS TRUE ORDER BY h.%(key)s" % names)
        self._delete = "DELETE FROM {schema}.%(heads)s WHERE %(key)s = ?" % names

    def _rows(self, dbName, statement, args, t):
        columns = VERSION_COLUMNS + self.content
        return [dict(zip(columns, row))
                for row in tx.query(dbName, sql.bind(statement, dbName), args, t)]

    def lock(self, dbName, name, t):
        """Lock a name's row; its latest version number, or None when there is no such name."""
        rows = tx.query(dbName, sql.bind(self._lock, dbName), [name], t)
        return rows[0][0] if rows else None

    def addVersion(self, dbName, name, createdBy, contentJson, t):
        """Append the next version (DRAFT) of a locked name; its number."""
        version = tx.query(dbName, sql.bind(self._bump, dbName), [name], t)[0][0]
        tx.update(dbName, sql.bind(self._insert, dbName),
                  [name, version, createdBy] + list(contentJson), t)
        return version

    def setStatus(self, dbName, name, version, fromStatus, toStatus, t):
        """Move one version from ``fromStatus`` to ``toStatus``; True when it took."""
        return tx.update(dbName, sql.bind(self._status, dbName),
                         [toStatus, name, version, fromStatus], t) == 1

    def retireActive(self, dbName, name, t):
        """Retire the name's active version (if any); how many (0 or 1)."""
        return tx.update(dbName, sql.bind(self._retireActive, dbName), [name], t)

    def version(self, dbName, name, version, t=None):
        """One version as a dict (VERSION_COLUMNS and the content columns, as JSON text)."""
        rows = self._rows(dbName, self._one, [name, version], t)
        return rows[0] if rows else None

    def active(self, dbName, name, t=None):
        """The name's active version, or None."""
        rows = self._rows(dbName, self._active, [name], t)
        return rows[0] if rows else None

    def versions(self, dbName, name, t=None):
        """Every version of a name, oldest first."""
        return self._rows(dbName, self._all, [name], t)

    def names(self, dbName):
        """(name, latest version, active version or None) of every name, by name."""
        return [tuple(row) for row in tx.query(dbName, sql.bind(self._names, dbName))]

    def delete(self, dbName, name, t):
        """Delete a name and its versions; True when it existed."""
        return tx.update(dbName, sql.bind(self._delete, dbName), [name], t) == 1
