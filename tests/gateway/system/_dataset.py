"""The datasets ``system.db`` returns: a plain ``BasicDataset`` and a ``PyDataSet``.

They are two different things on a gateway, and the simulator keeps them apart:

* ``BasicDataset`` (``com.inductiveautomation.ignition.common.BasicDataset``) is what
  getConnectionInfo / getConnections return: a Java object with the ``Dataset`` accessors
  (getRowCount, getColumnCount, getColumnNames, getColumnName, getColumnIndex,
  getValueAt) and nothing else. Jython gives a Java object ``len()``, iteration and
  indexing only when it is a Collection, List or Map, which a dataset is not: ``len(ds)``,
  ``ds[0]`` and ``for row in ds`` raise TypeError on a gateway, and here.
* ``PyDataSet`` (``DatasetUtilities.PyDataSet``) is what runPrepQuery returns: the same
  accessors plus the Python sequence protocol (``len(ds)``, ``ds[i]``, iteration), each
  row addressable by index or column name.

Cells: under CPython whatever psycopg2 returns (int, str, bool, float, Decimal, datetime,
None ...; json/jsonb as text, see system._psycopg2_driver). Under Jython each row is the Java
``Object[]`` that ``ResultSet.getObject`` filled, so reading a cell goes through Jython's
Java -> Python coercion (Long -> long, String -> unicode, Timestamp stays a java.util.Date),
as on a gateway; getColumnNames() is then a Java ``List<String>``.

Private to the simulator (``system.dataset`` of a gateway has other functions): scripts get
these objects from ``system.db``, never by name.
"""
import sys

_STRING_TYPES = (str, type(u""))

if sys.platform.startswith("java"):
    from java.util import ArrayList as _ArrayList  # novm

    def _nameList(names):
        return _ArrayList(names)
else:
    _nameList = list


class BasicDataset(object):
    """A Java ``Dataset``: the accessors only (no len(), no indexing, no iteration)."""

    __slots__ = ("_columns", "_rows", "_index", "_lowerIndex")

    def __init__(self, columnNames, rows):
        self._columns = [c if isinstance(c, _STRING_TYPES) else str(c) for c in columnNames]
        self._rows = [tuple(r) if isinstance(r, list) else r for r in rows]
        self._index = {}
        self._lowerIndex = {}
        for i, name in enumerate(self._columns):
            self._index.setdefault(name, i)
            self._lowerIndex.setdefault(name.lower(), i)

    def getRowCount(self):
        return len(self._rows)

    def getColumnCount(self):
        return len(self._columns)

    def getColumnNames(self):
        return _nameList(self._columns)

    def getColumnName(self, col):
        return self._columns[col]

    def getColumnIndex(self, colName):
        """Index of the column, or -1 (Java semantics) if there is none.

        Exact match first, then case-insensitive (Postgres folds unquoted names)."""
        i = self._index.get(colName)
        if i is None:
            i = self._lowerIndex.get(
                colName.lower() if isinstance(colName, _STRING_TYPES) else colName, -1)
        return i

    def getValueAt(self, row, col):
        """The cell at ``row`` and ``col`` (a column index or name); an index out of range
        raises IndexError (ArrayIndexOutOfBoundsException on a gateway)."""
        if isinstance(col, _STRING_TYPES):
            col = self._indexOrRaise(col)
        if row < 0 or col < 0:
            raise IndexError("row %r, column %r out of range" % (row, col))
        return self._rows[row][col]

    def __repr__(self):
        return "Dataset [%dR x %dC]" % (len(self._rows), len(self._columns))

    def _indexOrRaise(self, name):
        i = self.getColumnIndex(name)
        if i < 0:
            raise KeyError("Column %r not found; columns are %r" % (name, self._columns))
        return i


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

    __slots__ = ("_data", "_pyRows")

    def __init__(self, columnNames, rows):
        self._data = BasicDataset(columnNames, rows)
        self._pyRows = [PyRow(self, r) for r in self._data._rows]

    # --- Python sequence protocol -----------------------------------------------------
    def __len__(self):
        return len(self._pyRows)

    def __getitem__(self, i):
        return self._pyRows[i]

    def __iter__(self):
        return iter(self._pyRows)

    def __repr__(self):
        return "<PyDataSet rows:%d cols:%d>" % (len(self._pyRows), self._data.getColumnCount())

    # --- Java Dataset API ----------------------------------------------------------------
    def getRowCount(self):
        return self._data.getRowCount()

    def getColumnCount(self):
        return self._data.getColumnCount()

    def getColumnNames(self):
        return self._data.getColumnNames()

    def getColumnName(self, col):
        return self._data.getColumnName(col)

    def getColumnIndex(self, colName):
        return self._data.getColumnIndex(colName)

    def getValueAt(self, row, col):
        return self._data.getValueAt(row, col)

    def getUnderlyingDataset(self):
        """The plain Dataset behind it (no len(), no indexing)."""
        return self._data

    def _indexOrRaise(self, name):
        return self._data._indexOrRaise(name)
