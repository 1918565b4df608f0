"""The system schema as text (db.schema, db.sql): migrations numbered in order, each
statement naming the configured schema, and a schema name spliced only when it is a plain
identifier. No database: these read and build text."""
from __future__ import absolute_import, division, print_function

import pytest

from exchange.workflows.db import schema, sql


def test_migrations_are_numbered_one_by_one_and_the_last_is_the_latest():
    versions = [version for version, _name, _statements in schema.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert schema.LATEST_VERSION == versions[-1]
    names = [name for _version, name, _statements in schema.MIGRATIONS]
    assert len(set(names)) == len(names) and all(names)


def test_every_statement_of_a_migration_names_the_configured_schema():
    unqualified = [(version, statement[:60]) for version, _name, statements in schema.MIGRATIONS
                   for statement in statements if "{schema}" not in statement]
    assert unqualified == []


def test_the_schema_name_is_spliced_only_when_it_is_a_plain_identifier():
    assert sql.splice("SELECT 1 FROM {schema}.runs, {schema}.steps", "plant_a") == \
        "SELECT 1 FROM plant_a.runs, plant_a.steps"
    for bad in ("", "Plant", "a b", "x; DROP TABLE t", "a.b", '"q"', None, 5):
        with pytest.raises(ValueError):
            sql.splice("SELECT 1 FROM {schema}.runs", bad)
