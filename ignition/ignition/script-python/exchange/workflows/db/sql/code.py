"""SQL text with the configured schema spliced in.

The schema of the system tables is configurable per database connection. Identifiers cannot
be bound as parameters, so templates name it ``{schema}``; the name was validated as a plain
identifier when configured (engine.settings), and no input ever reaches SQL text: values
always travel as ``?`` parameters.
"""
from __future__ import absolute_import, division, print_function

from exchange.workflows import settings

_cache = {}


def bind(template, dbName=None):
    """The template with ``{schema}`` replaced by the schema of ``dbName``."""
    schema = settings.schemaName(dbName)
    key = (schema, template)
    text = _cache.get(key)
    if text is None:
        text = splice(template, schema)
        _cache[key] = text
    return text


def splice(template, schema):
    """The template with ``{schema}`` replaced by ``schema``, a plain identifier (checked;
    the self-test's scratch schema is one the library made up, not configured)."""
    if not settings.isValidSchemaName(schema):
        raise ValueError("invalid schema name %r" % (schema,))
    return template.replace("{schema}", schema)
