"""The fast paths of event parsing give exactly the results of the reference paths.

For a *plain* document (no float; see meshplane.lineage.events) `parse_event` reads JSON with
orjson, writes the canonical JSON with orjson and checks the schemas with jsonschema-rs; the
reference is json.loads, json.dumps (the definition of canonical JSON: stored fingerprints depend on
its exact text) and the compiled predicate with python-jsonschema. Here both are held to the same
results, byte for byte and type for type: on every example event, the benchmark's events, mutants
of both, and generated values (unicode and escapes, floats, integers beyond 64 bits, nesting).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lineage_support import (
    EXAMPLES,
    benchmark_events,
    example_events,
    example_files,
    mutants,
    require_standards,
    run_event,
)

from meshplane.lineage import InvalidEventError, LineageEvent, canonical_json, event_fingerprint, parse_batch
from meshplane.lineage import events as events_module
from meshplane.lineage import facets as facets_module
from meshplane.lineage.schemas import EventIssue, plain_types_only

# --- the reference paths --------------------------------------------------------------------------


def reference_dumps(value: Any) -> str:
    """Canonical JSON as it has always been defined."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _reference_load(data: Any, plain: bool | None = None) -> tuple[Any, bool | None]:
    """`events._load` as it was: json.loads, and never plain (so json.dumps and the compiled predicate)."""
    if isinstance(data, bytes | bytearray | str):
        try:
            return json.loads(data, parse_constant=events_module._refuse_constant), False
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEventError([EventIssue("$", f"not valid JSON: {exc}")]) from None
    if isinstance(data, Mapping) and not isinstance(data, dict):
        return dict(data), False
    return data, False


@contextmanager
def reference_paths() -> Iterator[None]:
    """Within: parse_event and parse_batch take the reference paths only."""
    with mock.patch.object(events_module, "_load", _reference_load):
        yield


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types and the same key order all the way down (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def outcome(call: Any) -> Any:
    """What a call gives: its value, or its exception as (type, message, issues, index)."""
    try:
        return call()
    except InvalidEventError as exc:
        return ("InvalidEventError", str(exc), exc.issues, exc.index)
    except Exception as exc:  # any other error must be the same too
        return (type(exc).__name__, str(exc))


def same_outcome(fast: Any, reference: Any) -> bool:
    if isinstance(fast, list) and isinstance(reference, list):
        return len(fast) == len(reference) and all(same_outcome(f, r) for f, r in zip(fast, reference, strict=True))
    if isinstance(fast, InvalidEventError) and isinstance(reference, InvalidEventError):
        return (str(fast), fast.issues, fast.index) == (str(reference), reference.issues, reference.index)
    if isinstance(fast, LineageEvent) and isinstance(reference, LineageEvent):
        return fast == reference and same(fast._document, reference._document)
    return bool(fast == reference)


def compare_parse(data: Any, *, partial: bool = False) -> None:
    """parse_event of ``data`` gives the same event (or error) on the fast and the reference paths."""
    fast = outcome(lambda: events_module.parse_event(copy.deepcopy(data), partial=partial))
    with reference_paths():
        reference = outcome(lambda: events_module.parse_event(copy.deepcopy(data), partial=partial))
    assert same_outcome(fast, reference), (data, fast, reference)


# --- the documents ---------------------------------------------------------------------------------


BENCHMARK = benchmark_events(300, "equivalence")
REPLACEMENTS: list[Any] = [
    None, True, 0, -1, 2.0, 1.5, -0.0, 1e16, 1e-7, 2**64, -(2**63) - 1, "", "x", "\u2028", "\ud800", [], {}, [1.0],
]  # fmt: skip


def _mutants(document: dict[str, Any], seed: int, count: int) -> list[Any]:
    return mutants(document, seed, count, REPLACEMENTS)


@pytest.fixture(autouse=True)
def _standards() -> None:
    require_standards()


# --- canonical JSON ---------------------------------------------------------------------------------


def test_canonical_json_of_examples_and_benchmark_events_is_json_dumps_text() -> None:
    documents = [e.document for e in example_events()] + [json.loads(b) for b in BENCHMARK] + [run_event()]
    fast = 0
    for document in documents:
        text = reference_dumps(document)
        assert canonical_json(document) == text
        assert event_fingerprint(document) == hashlib.sha256(text.encode("utf-8")).hexdigest()
        encoded = events_module._fast_canonical(document)
        if encoded is not None:
            assert encoded == text.encode("utf-8")
            fast += 1
    assert len(documents) >= 630
    assert fast >= 600  # the fast path is the one taken (example events with floats are not)


SPECIAL_FLOATS = [1e16, 1e-7, 1e-5, 5e-324, 1.7976931348623157e308, -0.0, 0.0, 0.1 + 0.2, 1e22, 2.0**64, -(2.0**63)]
BIG_INTS = [2**64, 2**64 - 1, 2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 10**30, -(10**30), 2**200]
SPECIAL_CHARACTERS = "\x00\x01\x08\x1f\x7f\x80\u2028\u2029\ufeff\ud800\udbff\udc00\udfff\"\\/'é€😀\U0010ffff\n\t"
text = st.text(alphabet=st.characters() | st.sampled_from(SPECIAL_CHARACTERS), max_size=10)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from(BIG_INTS)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(SPECIAL_FLOATS)
    | text
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)
objects = st.dictionaries(text, json_values, max_size=6)


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_canonical_json_is_json_dumps_text_for_any_json_value(value: Any) -> None:
    assert outcome(lambda: canonical_json(value)) == outcome(lambda: reference_dumps(value))
    fingerprint = outcome(lambda: event_fingerprint(value))
    assert fingerprint == outcome(lambda: hashlib.sha256(reference_dumps(value).encode("utf-8")).hexdigest())


@settings(max_examples=300, deadline=None)
@given(st.recursive(scalars | st.floats() | st.tuples(scalars), lambda inner: st.lists(inner, max_size=3)))
def test_canonical_json_fails_as_json_dumps_does(value: Any) -> None:
    """NaN and infinities, tuples (arrays to json.dumps), and values json.dumps refuses."""
    for candidate in ({"v": value}, {1: value}, {"a": value, 2: 0}, {"v": [value, {"k": (value,)}]}):
        assert outcome(lambda c=candidate: canonical_json(c)) == outcome(lambda c=candidate: reference_dumps(c))


def test_canonical_json_of_values_orjson_would_write_but_json_dumps_refuses_or_writes_otherwise() -> None:
    import dataclasses
    import datetime
    import enum
    import uuid

    class Text(str):
        pass

    class Colour(enum.Enum):
        RED = 1

    class Level(enum.IntEnum):
        HIGH = 3

    @dataclasses.dataclass
    class Point:
        x: int

    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    candidates: list[Any] = [
        {"a": Text("x")}, {Text("k"): 1}, {"a": Colour.RED}, {"a": Level.HIGH}, {"a": uuid.UUID(int=1)},
        {"a": datetime.date(2024, 1, 1)}, {"a": Point(1)}, {"a": (1, "x")}, {"a": float("nan")}, {"a": 1e400},
        {"a": [[[[1, 2.5]]]]}, cyclic, {"a": {"b": 2**64}}, {True: 1}, {None: 1},
    ]  # fmt: skip
    deep: Any = 1
    for _ in range(300):  # deeper than orjson encodes
        deep = {"d": deep}
    candidates.append(deep)
    for candidate in candidates:
        assert outcome(lambda c=candidate: canonical_json(c)) == outcome(lambda c=candidate: reference_dumps(c))


def test_plain_types_only_looks_at_everything_in_a_value() -> None:
    class Text(str):
        pass

    deep: Any = [1.5]
    for _ in range(50):
        deep = {"k": [deep, "x", 1, None, True]}
    assert plain_types_only({"a": [1, "x", None, True, {"b": []}], "c": {}})
    assert plain_types_only({1: "a"})  # (orjson refuses int keys: not plain after all)
    refused = [deep, {"a": 1.0}, [[[[-0.0]]]], {"a": (1,)}, {"a": Text()}, {Text("k"): 1}, {1.5: 1}, Text(), (1,)]
    for value in refused:
        assert not plain_types_only(value), value


# --- reading JSON -----------------------------------------------------------------------------------


def _reference_value(data: Any) -> Any:
    return outcome(lambda: _reference_load(data)[0])


def _fast_value(data: Any) -> Any:
    return outcome(lambda: events_module._load(data)[0])


def assert_reads_alike(data: Any) -> None:
    fast, reference = _fast_value(data), _reference_value(data)
    assert same(fast, reference) or fast == reference, (data, fast, reference)


def _texts(value: Any) -> Iterator[str]:
    yield json.dumps(value)
    yield json.dumps(value, ensure_ascii=False)
    yield json.dumps(value, indent=2, ensure_ascii=False)
    yield json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_json_is_read_as_json_loads_reads_it(value: Any) -> None:
    for text_ in _texts(value):
        assert_reads_alike(text_)
        assert_reads_alike(text_.encode("utf-8", "surrogatepass"))  # json.loads reads encoded surrogates
        assert_reads_alike(bytearray(text_.encode("utf-8", "surrogatepass")))
        assert_reads_alike(b"\xef\xbb\xbf" + text_.encode("utf-8", "surrogatepass"))  # bytes with a BOM
        assert_reads_alike("\ufeff" + text_)  # text with a BOM: refused


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "é", "a\u2028", "\ud800"]), json_values), max_size=6))
def test_duplicate_keys_are_read_as_json_loads_reads_them(pairs: list[tuple[str, Any]]) -> None:
    body = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"
    assert_reads_alike(body)
    assert_reads_alike(body.encode("utf-8"))


INVALID = [
    b"", b" ", b"{", b"{'eventTime': 1}", b'{"eventTime": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"[1,]",
    b'{"a":1,}', b"{} x", b"01", b"1.", b".5", b"-", b'"\x01"', b'"\\x"', b'"\\u12"', b'"\xff"', b'"\xc0\x80"',
    b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b"\x0c{}", b"{}\x00", b"nul", b"tru", b'{"a" 1}', b'{"a":}', b"[" * 2000,
    b"[" * 1100 + b"]" * 1100, b"1" * 5000, b"1e400", b"-1e400", b"\xff\xfe{\x00}\x00", b'"\\ud800"', b'"\\udc00\\ud800"',
    "{\"a\": \"\ud800\"}", "\ufeff{}", b'{"a":1}\r\n', b"\t[]", b'"\x7f"',
    b'{"run": ' * 300 + b"1" + b"}" * 300,  # deeper than orjson writes, not than it reads
]  # fmt: skip


def test_malformed_and_unusual_json_is_read_or_refused_as_before() -> None:
    for data in INVALID:
        assert_reads_alike(data)
        compare_parse(data)
        compare_parse(data if isinstance(data, str) else bytes(data), partial=True)


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_damaged_event_text_is_read_or_refused_as_before(data: st.DataObject) -> None:
    body = data.draw(st.sampled_from([*BENCHMARK[:6], json.dumps(run_event()).encode()]))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body)))
        byte = bytes([data.draw(st.integers(0, 255))])
        body = data.draw(st.sampled_from([body[:at] + byte + body[at:], body[:at] + body[at + 1 :], body[:at]]))
    assert_reads_alike(body)
    compare_parse(body)


# --- whole events -----------------------------------------------------------------------------------


def test_examples_and_benchmark_events_parse_alike() -> None:
    compared = 0
    for example in example_events():
        raw = (EXAMPLES / example.file).read_bytes()
        for partial in (False, True):
            compare_parse(example.document, partial=partial)
            compare_parse(json.dumps(example.document).encode(), partial=partial)
            compared += 2
        if example.index == 0 and not raw.lstrip().startswith(b"["):
            compare_parse(raw, partial=not example.complete)
            compared += 1
    for body in BENCHMARK:
        compare_parse(body)
        compared += 1
    assert compared >= 700


def test_example_files_and_benchmark_bodies_parse_alike_as_batches() -> None:
    bodies = [(EXAMPLES / f).read_bytes() for f in example_files()]
    bodies += [b"[" + b",".join(BENCHMARK[i : i + 50]) + b"]" for i in range(0, len(BENCHMARK), 50)]
    bodies.append(json.dumps([run_event(), {"eventTime": "x"}, json.dumps(run_event()), [1.5], 2**70]).encode())
    bodies.append(b"[" + BENCHMARK[0] + b', {"x": 1.5}]')  # a float anywhere: the batch is read by json.loads
    for body in bodies:
        for partial in (False, True):
            fast = outcome(lambda b=body, p=partial: parse_batch(b, partial=p))
            with reference_paths():
                reference = outcome(lambda b=body, p=partial: parse_batch(b, partial=p))
            assert same_outcome(fast, reference), body[:200]


@pytest.mark.parametrize("partial", [False, True], ids=["strict", "partial"])
def test_mutated_events_parse_alike(partial: bool) -> None:
    documents = [e.document for e in example_events()] + [json.loads(b) for b in BENCHMARK[:8]] + [run_event()]
    compared = 0
    for seed, document in enumerate(documents):
        for mutant in _mutants(document, seed, 25):
            compare_parse(mutant, partial=partial)
            text_ = reference_dumps(mutant).encode("utf-8", "surrogatepass") if _dumpable(mutant) else mutant
            compare_parse(text_, partial=partial)
            compared += 2
    assert compared > 1500


def _dumpable(value: Any) -> bool:
    try:
        reference_dumps(value)
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(12)), st.lists(st.tuples(text, json_values), min_size=1, max_size=3), st.booleans())
def test_events_with_generated_values_parse_alike(which: int, extra: list[tuple[str, Any]], in_facet: bool) -> None:
    document = json.loads(BENCHMARK[which]) if which < 10 else run_event()
    target = document["outputs"][0].setdefault("facets", {}) if in_facet and document["outputs"] else document
    for key, value in extra:
        target[key] = value
    compare_parse(document)
    if _dumpable(document):
        compare_parse(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@settings(max_examples=500, deadline=None)
@given(
    st.uuids(), st.sampled_from([str, lambda u: str(u).upper(), lambda u: u.hex, lambda u: f"{{{u}}}", lambda u: u.urn])
)
def test_run_ids_are_normalised_as_uuid_does(value: uuid.UUID, spell: Any) -> None:
    """The shortcut for run ids already in canonical form gives what str(uuid.UUID(...)) gives."""
    text_ = spell(value)
    assert facets_module.canonical_uuid(text_) == str(uuid.UUID(text_))
    for damaged in (text_[:-1], text_ + "0", text_.replace("-", "_"), " " + text_, text_ + "\n", text_.upper()):
        expected = outcome(lambda d=damaged: str(uuid.UUID(d)))
        assert facets_module.canonical_uuid(damaged) == (expected if isinstance(expected, str) else None)
