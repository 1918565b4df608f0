"""PyDataSet: what system.db.runPrepQuery returns.

Mirrors Ignition's ``com.inductiveautomation.ignition.common.script.builtin.DatasetUtilities.PyDataSet``:
a read-only sequence of rows, each row addressable by index or column name, plus the
Java ``Dataset`` accessors (getRowCount, getColumnNames, getValueAt, ...).

Cells: under CPython whatever psycopg2 returns (int, str, bool, float, Decimal, datetime,
None ...; json/jsonb as text, see system._psycopg2_driver). Under Jython each row is the Java
``Object[]`` that ``ResultSet.getObject`` filled, so reading a cell goes through Jython's
Java -> Python coercion (Long -> long, String -> unicode, Timestamp stays a java.util.Date),
as on a gateway; getColumnNames() is then a Java ``List<String>``.
"""
import sys

_STRING_TYPES = (str, type(u""))

if sys.platform.startswith("java"):
    from java.util import ArrayList as _ArrayList  # novm

    def _nameList(names):
        return _ArrayList(names)
else:
    _nameList = list


class PyRow(object):
    """One row of a PyDataSet: ``row[0]``, ``row["col"]``, ``len(row)``, iteration."""

    __slots__ = ("_ds", "_values")

    def __init__(self, ds, values):
        self._ds = ds
        self._values = values

    def __getitem__(self, key):
        if isinstance(key, _STRING_TYPES):
            return self._values[self._ds._indexOrRaise(key)]
        return self._values[key]

    def __len__(self):
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def __eq__(self, other):
        if isinstance(other, PyRow):
            return self._values == other._values
        if isinstance(other, (list, tuple)):
            return list(self._values) == list(other)
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    __hash__ = None

    def __repr__(self):
        return repr(list(self._values))


class PyDataSet(object):
    """Read-only dataset: ``len(ds)``, ``ds[i]``, ``for row in ds``, Java Dataset accessors."""

    def __init__(self, columnNames, rows):
        self._columns = [c if isinstance(c, _STRING_TYPES) else str(c) for c in columnNames]
        self._index = {}
        for i, name in enumerate(self._columns):
            self._index.setdefault(name, i)
        self._lowerIndex = {}
        for i, name in enumerate(self._columns):
            self._lowerIndex.setdefault(name.lower(), i)
        self._rows = [PyRow(self, tuple(r) if isinstance(r, list) else r) for r in rows]

    # --- Python sequence protocol -----------------------------------------------------
    def __len__(self):
        return len(self._rows)

    def __getitem__(self, i):
        return self._rows[i]

    def __iter__(self):
        return iter(self._rows)

    def __repr__(self):
        return "<PyDataSet rows:%d cols:%d>" % (len(self._rows), len(self._columns))

    # --- Java Dataset API ----------------------------------------------------------------
    def getRowCount(self):
        return len(self._rows)

    def getColumnCount(self):
        return len(self._columns)

    def getColumnNames(self):
        return _nameList(self._columns)

    def getColumnName(self, index):
        return self._columns[index]

    def getColumnIndex(self, name):
        """Index of the column, or -1 (Java semantics) if there is none.

        Exact match first, then case-insensitive (Postgres folds unquoted names)."""
        i = self._index.get(name)
        if i is None:
            i = self._lowerIndex.get(name.lower() if isinstance(name, _STRING_TYPES) else name, -1)
        return i

    def getValueAt(self, row, col):
        if isinstance(col, _STRING_TYPES):
            col = self._indexOrRaise(col)
        return self._rows[row]._values[col]

    def getUnderlyingDataset(self):
        return self

    def toPyDataSet(self):
        return self

    # --- internals -------------------------------------------------------------------------
    def _indexOrRaise(self, name):
        i = self.getColumnIndex(name)
        if i < 0:
            raise KeyError("Column %r not found; columns are %r" % (name, self._columns))
        return i
