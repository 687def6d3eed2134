"""Canonical dataset identity: one (namespace, name) per dataset, however a producer spells it.

OpenLineage names a dataset by a namespace (where: ``postgres://db:5432``, ``s3://bucket``,
``file``) and a name (what: ``shop.public.orders``, ``retail/orders``, ``/lake/x``). Producers spell
the same dataset differently: ``postgresql://`` or ``postgres://``, ``s3a://`` or ``s3://``, with or
without the default port, with ``..`` or a trailing slash in a path, or down to one partition folder
or part file of a table. `canonical_identity` maps all those spellings to one `DatasetIdentity`.

The rules are data: `SCHEME_RULES` (one line per scheme: aliases, default port, kind, case
folding) and the partition patterns below. docs/lineage.md lists them with examples; every rule
has a line in tests/lineage/test_identity.py.
"""

from __future__ import annotations

import enum
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache


class SchemeKind(enum.StrEnum):
    """What a namespace scheme addresses; decides how names under it are normalised."""

    FILE = "file"
    """Local or remote POSIX file system: names are absolute paths."""
    OBJECT_STORE = "object-store"
    """Bucket stores: the namespace is the bucket, names are keys without a leading slash."""
    FILESYSTEM = "filesystem"
    """Other path-addressed systems (HDFS, DBFS, SFTP): names are paths with a leading slash."""
    DATABASE = "database"
    """Table-like names (``database.schema.table``): dots are structure, never trimmed."""
    STREAM = "stream"
    """Topics and streams: names are kept as given."""
    OTHER = "other"
    """Known scheme without name rules (http, https)."""


PATH_KINDS = frozenset({SchemeKind.FILE, SchemeKind.OBJECT_STORE, SchemeKind.FILESYSTEM})
"""Kinds whose names are paths: normalised, partition-trimmed and matched by folder prefix."""


class TableCase(enum.StrEnum):
    """How a database platform compares identifiers (docs/lineage.md, "Warehouse tables").

    Canonical table names are lower-cased wherever the platform folds case; a quoted part the
    platform keeps as written (``"Orders"`` on PostgreSQL) keeps its quotes, so it never meets the
    unquoted ``orders``.
    """

    SENSITIVE = "sensitive"
    """Names compare as written (BigQuery, MySQL on Linux, ClickHouse)."""
    LOWER = "lower"
    """Unquoted parts fold to lower case, quoted parts are kept (PostgreSQL)."""
    UPPER = "upper"
    """Unquoted parts fold to upper case, quoted parts are kept (Snowflake, Oracle, DB2)."""
    INSENSITIVE = "insensitive"
    """Case never matters, quoted or not (DuckDB, SQL Server, Spark/Databricks, Trino, Redshift, Hive)."""


@dataclass(frozen=True)
class SchemeRule:
    """How one namespace scheme is canonicalised.

    ``case``: how the platform compares identifiers (`TableCase`); ``fold_case`` is True for every
    platform that folds case at all.
    """

    scheme: str
    kind: SchemeKind
    aliases: tuple[str, ...] = ()
    default_port: int | None = None
    case: TableCase = TableCase.SENSITIVE

    @property
    def fold_case(self) -> bool:
        """True when unquoted identifiers are compared without case."""
        return self.case is not TableCase.SENSITIVE


_LOWER, _UPPER, _ANY = TableCase.LOWER, TableCase.UPPER, TableCase.INSENSITIVE

SCHEME_RULES: tuple[SchemeRule, ...] = (
    SchemeRule("file", SchemeKind.FILE),
    SchemeRule("s3", SchemeKind.OBJECT_STORE, ("s3a", "s3n")),
    SchemeRule("gs", SchemeKind.OBJECT_STORE, ("gcs",)),
    SchemeRule("abfss", SchemeKind.OBJECT_STORE, ("abfs",)),
    SchemeRule("wasbs", SchemeKind.OBJECT_STORE, ("wasb",)),
    SchemeRule("hdfs", SchemeKind.FILESYSTEM),
    SchemeRule("dbfs", SchemeKind.FILESYSTEM),
    SchemeRule("sftp", SchemeKind.FILESYSTEM, (), 22),
    SchemeRule("postgres", SchemeKind.DATABASE, ("postgresql", "pgsql"), 5432, _LOWER),
    SchemeRule("mysql", SchemeKind.DATABASE, (), 3306),
    SchemeRule("sqlserver", SchemeKind.DATABASE, ("mssql",), 1433, _ANY),
    SchemeRule("oracle", SchemeKind.DATABASE, (), 1521, _UPPER),
    SchemeRule("redshift", SchemeKind.DATABASE, (), 5439, _ANY),
    SchemeRule("snowflake", SchemeKind.DATABASE, (), 443, _UPPER),
    SchemeRule("db2", SchemeKind.DATABASE, (), 50000, _UPPER),
    SchemeRule("teradata", SchemeKind.DATABASE, (), 1025, _ANY),
    SchemeRule("vertica", SchemeKind.DATABASE, (), 5433, _ANY),
    SchemeRule("trino", SchemeKind.DATABASE, (), 8080, _ANY),
    SchemeRule("presto", SchemeKind.DATABASE, (), 8080, _ANY),
    SchemeRule("hive", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("impala", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("databricks", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("spark", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("duckdb", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("awsathena", SchemeKind.DATABASE, (), None, _ANY),
    SchemeRule("bigquery", SchemeKind.DATABASE),
    SchemeRule("clickhouse", SchemeKind.DATABASE),
    SchemeRule("cassandra", SchemeKind.DATABASE, (), 9042),
    SchemeRule("mongodb", SchemeKind.DATABASE, (), 27017),
    SchemeRule("kafka", SchemeKind.STREAM, (), 9092),
    SchemeRule("http", SchemeKind.OTHER, (), 80),
    SchemeRule("https", SchemeKind.OTHER, (), 443),
)
"""One line per known scheme. Unknown schemes keep their names as given (scheme and host lower-cased)."""

_RULES: dict[str, SchemeRule] = {name: rule for rule in SCHEME_RULES for name in (rule.scheme, *rule.aliases)}
_OBJECT_STORES_WITH_USERINFO = frozenset({"abfss", "wasbs"})  # container@account names the data
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.DOTALL)


@dataclass(frozen=True, order=True, slots=True)
class DatasetIdentity:
    """A dataset's canonical namespace and name.

    ``str()`` gives ``namespace#name`` (a canonical namespace never holds ``#``), and `parse`
    reads it back. Build canonical identities with `canonical_identity`; the constructor takes the
    two strings as they are.
    """

    namespace: str
    name: str

    def __post_init__(self) -> None:
        if "#" in self.namespace:
            raise ValueError(f"a dataset namespace cannot contain '#': {self.namespace!r}")

    def __str__(self) -> str:
        return f"{self.namespace}#{self.name}"

    @classmethod
    def parse(cls, text: str) -> DatasetIdentity:
        """Read ``namespace#name`` (the `str()` form) back; the first ``#`` separates the two."""
        namespace, sep, name = text.partition("#")
        if not sep:
            raise ValueError(f"not a dataset identity (expected 'namespace#name'): {text!r}")
        return cls(namespace, name)

    @property
    def scheme(self) -> str:
        """The namespace's canonical scheme (``file`` for the bare ``file`` namespace), or ``""``."""
        return namespace_scheme(self.namespace)

    @property
    def kind(self) -> SchemeKind | None:
        """The kind of the namespace's scheme, None when the scheme is unknown."""
        rule = _RULES.get(self.scheme)
        return rule.kind if rule else None

    @property
    def is_path(self) -> bool:
        """True when the name is a path (file systems and object stores)."""
        return self.kind in PATH_KINDS

    def parent(self) -> DatasetIdentity | None:
        """The identity of the enclosing folder (path identities only), None at the top."""
        if not self.is_path:
            return None
        head, sep, _tail = self.name.rstrip("/").rpartition("/")
        if not sep or not head:
            return None
        return DatasetIdentity(self.namespace, head)


def canonical_scheme(scheme: str) -> str:
    """Lower-case, without a driver suffix (``postgresql+psycopg``), aliases resolved (``s3a`` → ``s3``)."""
    base = scheme.strip().lower().split("+", 1)[0]
    rule = _RULES.get(base)
    return rule.scheme if rule else base


def scheme_rule(scheme: str) -> SchemeRule | None:
    """The rule for a scheme or one of its aliases."""
    return _RULES.get(canonical_scheme(scheme))


def namespace_scheme(namespace: str) -> str:
    """The canonical scheme a namespace names (``postgres`` for ``postgresql://h``), or ``""``."""
    text = namespace.strip()
    if text.lower().startswith("jdbc:"):
        text = text[5:]
    match = _URI.match(text)
    if match:
        return canonical_scheme(match.group(1))
    if text.lower() in _RULES:  # bare tokens such as "file" or "bigquery"
        return canonical_scheme(text)
    return ""


def _split_authority(authority: str, scheme: str) -> str:
    """Lower-case host, credentials dropped, default port dropped."""
    rule = _RULES.get(scheme)
    userinfo, at, hostport = authority.rpartition("@")
    keep_userinfo = at and scheme in _OBJECT_STORES_WITH_USERINFO
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
    else:
        host, port = hostport, ""
    host = host.lower()
    if scheme == "file" and host == "localhost":
        host = ""
    if port and rule and rule.default_port is not None and port.lstrip("0") == str(rule.default_port):
        port = ""
    out = host + (f":{port}" if port else "")
    return f"{userinfo.lower()}@{out}" if keep_userinfo else out


def normalise_path(path: str, *, leading_slash: bool | None = None) -> str:
    """Collapse ``//``, resolve ``.`` and ``..``, drop the trailing ``/``.

    ``leading_slash``: True forces an absolute path, False strips it (object-store keys), None
    keeps what was given.
    """
    text = path.strip()
    if not text:
        return ""
    absolute = text.startswith("/")
    body = posixpath.normpath("/" + text.lstrip("/"))  # anchored: ".." never climbs above the root
    body = body.lstrip("/")
    want_slash = absolute if leading_slash is None else leading_slash
    return ("/" + body) if want_slash else body


@lru_cache(maxsize=4096)
def canonical_namespace(namespace: str) -> str:
    """The canonical spelling of a dataset namespace.

    Scheme lower-cased with aliases resolved and ``jdbc:``/``+driver`` dropped, host lower-cased,
    credentials and default port dropped, query and fragment dropped, a path inside the namespace
    normalised. ``file``, ``file://``, ``file:///`` and ``file://localhost`` are all ``file``.
    Namespaces that are not URIs (``bigquery``, ``food_delivery``, ``arn:aws:glue:…``) are kept
    as given, except a bare known scheme (``FILE`` → ``file``) and a bare absolute path, which
    becomes a ``file://`` URI.
    """
    text = namespace.strip()
    if not text:
        return ""
    if text.startswith("/"):
        text = "file://" + text
    if text.lower().startswith("jdbc:"):
        text = text[5:]
    match = _URI.match(text)
    if match is None:
        return canonical_scheme(text) if text.lower() in _RULES else text
    scheme = canonical_scheme(match.group(1))
    rest = match.group(2)
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = slash + path
    elif scheme == "file":
        authority, path = "", rest
    else:  # opaque URI such as arn:aws:glue:eu-west-1:123456789012
        return text
    for mark in ("?", "#"):
        authority = authority.split(mark, 1)[0]
        path = path.split(mark, 1)[0]
    host = _split_authority(authority, scheme)
    path = normalise_path(path, leading_slash=True) if path.strip("/") else ""
    if scheme == "file" and not host and not path:
        return "file"
    return f"{scheme}://{host}{path}"


@lru_cache(maxsize=4096)
def _namespace_rule(namespace: str) -> SchemeRule | None:
    return _RULES.get(namespace_scheme(namespace))


def _is_path_uri(text: str) -> bool:
    """A name that is itself a file or bucket URI (``file:/x``, ``s3a://b/k``)."""
    match = _URI.match(text)
    if match is None or len(match.group(1)) < 2:  # "C:" is a drive letter, not a scheme
        return False
    rule = _RULES.get(canonical_scheme(match.group(1)))
    return bool(rule and rule.kind in PATH_KINDS)


_IDENTIFIER_PART = re.compile(r'(?:"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^.])+')


def split_table_name(name: str) -> list[tuple[str, bool]]:
    """The parts of a table name, each unquoted, with whether it was quoted: ``"a"."B".c``."""
    parts = []
    for raw in _IDENTIFIER_PART.findall(name.strip()):
        part = raw.strip()
        quoted = len(part) >= 2 and (part[0], part[-1]) in (('"', '"'), ("`", "`"), ("[", "]"))
        if quoted:
            part = part[1:-1].replace('""', '"')
        parts.append((part, quoted))
    return parts


def _canonical_part(part: str, quoted: bool, case: TableCase) -> str:
    if case is TableCase.SENSITIVE:
        return part
    if case is TableCase.INSENSITIVE or not quoted:
        return part.lower()
    folded = part.lower() if case is TableCase.LOWER else part.upper()
    if part == folded:  # a quoted name the platform would have folded to anyway: the same table
        return part.lower()
    return '"' + part.replace('"', '""') + '"'


def normalise_table_name(name: str, *, fold_case: bool = False, case: TableCase | None = None) -> str:
    """``"Shop" . public.[Orders]`` → ``Shop.public.Orders``, by the platform's `TableCase`.

    Parts are trimmed and unquoted; the dots between them are kept. With ``case`` (or
    ``fold_case``, meaning `TableCase.INSENSITIVE`), parts the platform compares without case are
    lower-cased; a quoted part it keeps as written keeps its double quotes (PostgreSQL's
    ``"Orders"`` is not ``orders``).
    """
    rule = case if case is not None else TableCase.INSENSITIVE if fold_case else TableCase.SENSITIVE
    return ".".join(_canonical_part(part, quoted, rule) for part, quoted in split_table_name(name))


# --- partition trimming -------------------------------------------------------------------------

_GLOB = re.compile(r"[*?\[{]")
_KEY_VALUE = re.compile(r"^[A-Za-z_][\w.\-]*=")
_MARKER_FILE = re.compile(r"^(_SUCCESS|_committed_.*|_started_.*|\..*\.crc|_delta_log|_metadata|_common_metadata)$")
_PART_FILE = re.compile(r"^\.?part[-_]", re.IGNORECASE)
_DATA_EXTENSION = re.compile(
    r"\.(parquet|csv|tsv|json|jsonl|ndjson|avro|orc|txt|arrow|feather|ipc|xml|xlsx|dat)"
    r"(\.(gz|gzip|snappy|zst|zstd|bz2|xz|lz4|zip|deflate))?$",
    re.IGNORECASE,
)
_COMPRESSION_PREFIX = re.compile(r"\.(snappy|gz|zstd?|lz4|c\d{3})$", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"(19|20)\d{2}-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])")
_NUMBERED_STEM = re.compile(r"^(\d|(data|chunk|file|output|export|batch|dump)[-_]?\d)", re.IGNORECASE)
_DATE_FOLDER = re.compile(
    r"^(19|20)\d{2}"
    r"([-_]?(0[1-9]|1[0-2])([-_]?(0[1-9]|[12]\d|3[01])([T_ ]?([01]\d|2[0-3])(:?[0-5]\d){0,2}Z?)?)?)?$"
)
_SMALL_NUMBER = re.compile(r"^\d{1,2}$")


def _is_generated_file(segment: str) -> bool:
    """A file a writer named for itself (part file, numbered chunk, UUID/date-stamped) or a marker."""
    if _GLOB.search(segment) or _MARKER_FILE.match(segment) or _PART_FILE.match(segment):
        return True
    ext = _DATA_EXTENSION.search(segment) if "." in segment else None
    if ext is None:
        return False
    stem = _COMPRESSION_PREFIX.sub("", segment[: ext.start()])
    return bool(_NUMBERED_STEM.match(stem) or _UUID.search(stem) or _DATE_IN_NAME.search(stem))


def trim_partitions(path: str) -> str:
    """The dataset folder of a path to one of its partitions or files.

    - cut at the first ``key=value`` segment (Hive-style partitions: ``dt=2024-01-31``, ``year=2024``);
    - drop trailing globs (``*.parquet``, ``*``), part files (``part-00000-….snappy.parquet``),
      numbered, UUID- or date-stamped data files and writer markers (``_SUCCESS``);
    - drop trailing date folders (``2024``, ``2024/01/31``, ``2024-01-31``, ``20240131``).

    The first segment of a path is never trimmed, and named files (``customers.csv``) are kept:
    they may be datasets of their own, and resolution matches them below a port's folder anyway.
    """
    if not path:
        return path
    absolute = path.startswith("/")
    segments = path.strip("/").split("/")
    first = 0
    for i, segment in enumerate(segments):
        if i > first and "=" in segment and _KEY_VALUE.match(segment):
            segments = segments[:i]
            break
    changed = True
    while changed and len(segments) > first + 1:
        changed = False
        if _is_generated_file(segments[-1]):
            segments.pop()
            changed = True
            continue
        end = len(segments)
        i = end
        while i - 1 > first and _SMALL_NUMBER.match(segments[i - 1]):
            i -= 1
        if i - 1 > first and _DATE_FOLDER.match(segments[i - 1]):
            del segments[i - 1 :]
            changed = True
    out = "/".join(segments)
    return "/" + out if absolute else out


def canonical_identity(namespace: str, name: str, *, trim: bool = True) -> DatasetIdentity:
    """The canonical identity of a dataset as a producer named it.

    The namespace goes through `canonical_namespace`. A name that is itself a file or bucket URI
    (``file:/x``, ``s3a://b/k``) stands for itself. Path names (file systems and object stores)
    are normalised and, with ``trim``, partition-trimmed (`trim_partitions`); object-store keys
    lose their leading ``/``. Table-like names keep their dots, lose identifier quotes, and are
    lower-cased where the scheme folds case. With an empty namespace an absolute path is a file.
    """
    return _canonical_identity(namespace, name, trim)


@lru_cache(maxsize=16384)
def _canonical_identity(namespace: str, name: str, trim: bool) -> DatasetIdentity:
    text = name.strip()
    if _is_path_uri(text):
        return identity_from_uri(text, trim=trim)
    ns = canonical_namespace(namespace)
    if not ns and text.startswith("/"):
        ns = "file"
    rule = _namespace_rule(ns)
    if rule is None or rule.kind in (SchemeKind.STREAM, SchemeKind.OTHER):
        return DatasetIdentity(ns, text)
    if rule.kind is SchemeKind.DATABASE:
        return DatasetIdentity(ns, normalise_table_name(text, case=rule.case))
    path = normalise_path(text, leading_slash=False if rule.kind is SchemeKind.OBJECT_STORE else None)
    if trim and "/" in path.strip("/"):
        path = trim_partitions(path)
    return DatasetIdentity(ns, path)


def identity_from_uri(uri: str, *, trim: bool = True) -> DatasetIdentity:
    """The identity of a location URI: ``s3a://bucket/a/b/`` → ``s3://bucket`` + ``a/b``.

    ``file:/x``, ``file:///x`` and bare absolute paths are in the ``file`` namespace. A URI with
    an authority splits into ``scheme://authority`` and its path; anything else is kept whole as
    the name of the empty namespace.
    """
    text = uri.strip()
    if text.startswith("/"):
        return _canonical_identity("file", text, trim)
    match = _URI.match(text)
    if match is None:
        return DatasetIdentity("", text)
    scheme = canonical_scheme(match.group(1))
    rest = match.group(2)
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        namespace = canonical_namespace(f"{scheme}://{authority}")
        return _canonical_identity(namespace, "/" + path, trim)
    if scheme == "file":
        return _canonical_identity("file", "/" + rest.lstrip("/"), trim)
    return DatasetIdentity("", text)
