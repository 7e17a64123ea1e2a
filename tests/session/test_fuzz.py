"""The loader, fuzzed: whatever a session file holds, opening it gives a session or one
``SessionError`` line, never another exception, never a long replay.

Derandomised (the same examples every run, in CI and locally) and bounded; the
``slow`` test explores many more (``pytest -m slow``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model import load_layout
from kmsan_tui.session import AllocPages, Bookmark, FreePages, GoTo, Session, SessionError, files
from kmsan_tui.session.fileformat import file_digest, to_document

FAST = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(derandomize=False, max_examples=1500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _base() -> dict[str, Any]:
    s = Session(load_layout("tiny-64m"), "lazy", seed=2)
    s.run_to("free_area_init")
    s.apply(Bookmark("b"))
    s.step()
    s.undo()
    s.switch("eager")
    s.apply(GoTo(7))
    s.run_to("memblock_free_all")
    s.apply(AllocPages(1, "Movable"))  # the explorer's a and X
    s.apply(FreePages(next(start for start, _e, owner in s.sim.owners if owner == "by hand")))
    return to_document(files.data_of(s))


BASE = _base()
BASE_TEXT = json.dumps(BASE, ensure_ascii=False, indent=1)
V1_TEXT = (Path(__file__).resolve().parent / "golden" / "v1-lazy-fragmenter-tiny.json"
           ).read_text().replace('"ops": 5000', '"ops": 500')

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["step", "run_to", "workload", "back",
                                                "switch_strategy", "lazy", "mem_init",
                                                "fragmenter", "bookmark", "goto",
                                                "alloc_pages", "free_pages", "Movable"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


PATHS = [p for p in _paths(BASE) if p and p[0] != "digest"]
V1_PATHS = [p for p in _paths(json.loads(V1_TEXT)) if p]


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    for key in path[:-1]:
        doc = doc[key]
    if delete and isinstance(doc, dict):
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = value


def _open(tmp: Path, content: bytes) -> None:
    path = tmp / "fuzz.json"
    path.write_bytes(content)
    # A replay budget a test can afford: the real one allows minutes of simulation.
    with mock.patch("kmsan_tui.session.loader.MAX_REPLAY_OPS", 20_000), \
            mock.patch("kmsan_tui.session.loader.MAX_REPLAY_STEPS", 400):
        try:
            files.load(path)
        except SessionError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc), str(exc)


edits = st.lists(st.tuples(st.sampled_from(PATHS), json_values, st.booleans()),
                 min_size=1, max_size=3)


def _structured(tmp: Path, changes: list[tuple[tuple[Any, ...], Any, bool]], sign: bool,
                base: str = BASE_TEXT) -> None:
    doc = json.loads(base)
    for path, value, delete in changes:
        try:
            _set(doc, path, value, delete)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the way there
    if sign and isinstance(doc, dict):  # a forger who recomputes the digest reaches
        try:                            # every check behind it
            doc["digest"] = file_digest(doc)
        except ValueError:  # inf: written as Infinity below, which the loader refuses
            pass
    _open(tmp, json.dumps(doc, ensure_ascii=False).encode())


def _bytes(tmp: Path, cuts: list[tuple[int, bytes]]) -> None:
    data = bytearray(BASE_TEXT.encode())
    for at, chunk in cuts:
        at %= len(data) + 1
        data[at:at + len(chunk)] = chunk
    _open(tmp, bytes(data))


byte_edits = st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=8)), min_size=1,
                      max_size=4)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FAST
@given(changes=edits, sign=st.booleans())
def test_structured_edits_give_a_session_or_one_line(tmp: Path, changes: Any, sign: bool) -> None:
    _structured(tmp, changes, sign)


@FAST
@given(cuts=byte_edits)
def test_byte_edits_give_a_session_or_one_line(tmp: Path, cuts: Any) -> None:
    _bytes(tmp, cuts)


@FAST
@given(changes=st.lists(st.tuples(st.sampled_from(V1_PATHS), json_values, st.booleans()),
                        min_size=1, max_size=3))
def test_format_1_edits_give_a_session_or_one_line(tmp: Path, changes: Any) -> None:
    _structured(tmp, changes, sign=False, base=V1_TEXT)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"), reason="slow: set KMSAN_SLOW=1")
@SLOW
@given(changes=edits, sign=st.booleans(), cuts=byte_edits)
def test_the_loader_under_many_more_edits(tmp: Path, changes: Any, sign: bool, cuts: Any) -> None:
    _structured(tmp, changes, sign)
    _bytes(tmp, cuts)
