"""`check_event` / `check_batch` (what the receiver runs) judge events exactly as `parse_event` / `parse_batch`.

The receiver stores what `check_event` keeps and answers with its warnings; derivation later
parses the stored text with `parse_event`. So for every input both must agree: the same error
(message, issues, batch index), or the same stored values and the same warnings, in order. Held on
every example event, the benchmark's events, mutants of all of them (values replaced, keys
dropped: many break a facet and give warnings), and batches mixing good and bad items.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lineage_support import EXAMPLES, benchmark_events, example_events, example_files, mutants, require_standards
from lineage_support import run_event as make_run_event

from meshplane.lineage import (
    InvalidEventError,
    LineageEvent,
    ReceivedEvent,
    check_batch,
    check_event,
    parse_batch,
    parse_event,
)

BENCHMARK = benchmark_events(40, "check")
STORED = ("kind", "event_type", "event_time", "run_id", "job_namespace", "job_name", "fingerprint", "canonical_json")
REPLACEMENTS: list[Any] = [
    None, True, 0, -1, 1.5, "", "x", "\ud800", "a#b", [], {}, {"_deleted": True}, [{"name": 1}],
]  # fmt: skip


@pytest.fixture(autouse=True)
def _standards() -> None:
    require_standards()


def _agree(checked: ReceivedEvent | InvalidEventError, parsed: LineageEvent | InvalidEventError) -> bool:
    if isinstance(parsed, InvalidEventError) or isinstance(checked, InvalidEventError):
        return (
            isinstance(parsed, InvalidEventError)
            and isinstance(checked, InvalidEventError)
            and (str(checked), checked.issues, checked.index) == (str(parsed), parsed.issues, parsed.index)
        )
    same_values = all(getattr(checked, name) == getattr(parsed, name) for name in STORED)
    return same_values and checked.warnings == parsed.warnings


def _outcome(call: Any, data: Any) -> Any:
    try:
        return call(data)
    except InvalidEventError as exc:
        return exc


def compare(data: Any) -> tuple[int, int]:
    """check_event and parse_event agree on ``data``; (1 if it was valid, number of warnings)."""
    checked, parsed = _outcome(check_event, data), _outcome(parse_event, data)
    assert _agree(checked, parsed), (data, checked, parsed)
    return (0, 0) if isinstance(parsed, InvalidEventError) else (1, len(parsed.warnings))


def test_examples_and_benchmark_events_are_judged_alike() -> None:
    valid = 0
    for example in example_events():
        for data in (example.document, json.dumps(example.document).encode()):
            valid += compare(data)[0]
    for body in BENCHMARK:
        assert compare(body) == (1, 0)
    assert valid >= 25  # the complete examples (the others are partial upstream fixtures: refused alike)


def test_mutated_events_are_judged_alike() -> None:
    documents = [e.document for e in example_events()] + [json.loads(b) for b in BENCHMARK[:6]] + [make_run_event()]
    outcomes = {"valid": 0, "invalid": 0, "warned": 0}
    for seed, document in enumerate(documents):
        for mutant in mutants(document, seed, 20, REPLACEMENTS):
            ok, warnings = compare(mutant)
            outcomes["valid" if ok else "invalid"] += 1
            outcomes["warned"] += bool(warnings)
    assert min(outcomes.values()) > 50, outcomes  # each way of turning out is well represented


def test_batches_are_judged_alike_item_by_item() -> None:
    bodies = [(EXAMPLES / f).read_bytes() for f in example_files()]
    bodies.append(b"[" + b",".join(BENCHMARK[:20]) + b"]")
    bodies.append(json.dumps([make_run_event(), {"eventTime": "x"}, "text", [1.5], make_run_event(job="b")]).encode())
    for body in bodies:
        checked, parsed = _outcome(check_batch, body), _outcome(parse_batch, body)
        if isinstance(parsed, InvalidEventError):
            assert _agree(checked, parsed), body[:200]
            continue
        assert len(checked) == len(parsed)
        assert all(_agree(c, p) for c, p in zip(checked, parsed, strict=True)), body[:200]
    with pytest.raises(InvalidEventError, match="must be a JSON array"):
        check_batch(b'{"not": "a batch"}')


def test_a_namespace_that_cannot_be_canonical_is_refused_alike() -> None:
    """A '#' in a namespace that is not a URI has no canonical identity: a 400 naming it, not a stored event
    whose derivation would fail (nor the 500 it once was)."""
    event = make_run_event()
    event["inputs"] = [{"namespace": "file", "name": "/lake/a"}, {"namespace": "my#ns", "name": "t"}]
    for check in (check_event, parse_event):
        with pytest.raises(InvalidEventError) as caught:
            check(json.dumps(event))
        assert caught.value.issues[0].path == "$.inputs[1].namespace"
        assert "cannot contain '#'" in caught.value.issues[0].reason
