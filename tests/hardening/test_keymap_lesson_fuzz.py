"""Keymaps and lesson files, fuzzed: whatever they hold, reading them gives a keymap or
a lesson, or one ``UserError`` line naming the file (and the id or key).

Keymaps: any ids (known or not) bound to any strings (modifiers, commas, control
characters, emoji, key names). A keymap that loads binds only keys a terminal sends,
and never one key to two bindings that apply at the same time. Lessons: the shipped
lessons' front matter edited (hostile values, keys removed or added, entries
repeated) and their bytes edited; a lesson that loads opens its session or says why
in one line. Derandomised and bounded in ``make test``; more under ``KMSAN_SLOW=1``.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model.errors import UserError
from kmsan_tui.tui.keymap import KEY_NAMES, MODIFIERS, find_clash, known_ids, load_keymap
from kmsan_tui.tutorial.lesson import FENCE, parse_lesson
from kmsan_tui.tutorial.start import start_session
from tests.hardening.mutate import dumps, edited

FAST = settings(derandomize=True, max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FAST_LESSONS = settings(derandomize=True, max_examples=40, deadline=None, database=None,
                        suppress_health_check=[HealthCheck.too_slow,
                                               HealthCheck.function_scoped_fixture])
SLOW = settings(derandomize=False, max_examples=1500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
IDS = sorted(known_ids())

# ---------------------------------------------------------------------- keymaps

_piece = st.one_of(
    st.sampled_from(["ctrl", "shift", "alt", "meta", "super", "hyper", "Ctrl", "ctl", ""]),
    st.sampled_from(sorted(KEY_NAMES)), st.characters(), st.text(max_size=3),
    st.sampled_from(["\u0000", "\x7f", "\U0001f600", " ", "+", ",", "\t", "\n"]))
key_strings = st.one_of(
    st.lists(_piece, min_size=1, max_size=3).map("+".join),
    st.lists(st.lists(_piece, min_size=1, max_size=3).map("+".join), min_size=1,
             max_size=3).map(",".join),
    st.text(max_size=8))
keymaps = st.dictionaries(st.sampled_from(IDS) | st.text(max_size=10),
                          key_strings | st.integers() | st.booleans() | st.lists(st.text()),
                          max_size=5)


def _keymap_text(table: dict[str, object], nested: bool) -> str:
    return dumps({"keymap": table} if nested else table)


def _check_keymap(path: Path, table: dict[str, object], nested: bool) -> None:
    try:
        path.write_text(_keymap_text(table, nested))
    except (TypeError, UnicodeEncodeError):
        return  # not writable as a TOML file (a surrogate): nothing to read
    try:
        keymap = load_keymap(path, set(IDS))
    except UserError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(str(path)), message
        return
    for keys in keymap.values():
        for key in keys.split(","):
            *mods, base = key.split("+")
            assert all(m in MODIFIERS for m in mods) and base in KEY_NAMES, key
    assert find_clash(keymap) is None


@FAST
@given(table=keymaps, nested=st.booleans())
def test_any_keymap_loads_or_is_one_line(tmp_path: Path, table: dict[str, object],
                                          nested: bool) -> None:
    _check_keymap(tmp_path / "keymap.toml", table, nested)


@FAST
@given(data=st.binary(max_size=200))
def test_any_bytes_are_a_keymap_or_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "keymap.toml"
    path.write_bytes(data)
    try:
        load_keymap(path, set(IDS))
    except UserError as exc:
        assert "\n" not in str(exc)


# ---------------------------------------------------------------------- lessons

_LESSONS = resources.files("kmsan_tui.tutorial") / "lessons"
LESSONS = {p.name: p.read_text(encoding="utf-8") for p in _LESSONS.iterdir()
           if p.name.endswith(".md")}
LESSON_KEYS = ["title", "panels", "start", "prediction", "goal", "layout", "session", "until",
               "before", "seed", "options", "id", "question", "answer", "choices", "tolerance",
               "reveal", "explain", "after", "event", "match", "fact", "zone", "order"]


def _split(text: str) -> tuple[dict[str, object], str]:
    _, front, body = text.split(FENCE + "\n", 2)
    return tomllib.loads(front), body


@st.composite
def edited_lessons(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(LESSONS)))
    front, body = _split(LESSONS[name])
    doc = draw(edited(front, LESSON_KEYS))
    if draw(st.booleans()):
        body = draw(st.sampled_from(["", " \n", body[:50], "{key:nope} {key:", body * 2]))
    return f"{FENCE}\n{dumps(doc)}{FENCE}\n{body}"


@st.composite
def byte_edited_lessons(draw: st.DrawFn) -> str:
    data = bytearray(LESSONS[draw(st.sampled_from(sorted(LESSONS)))].encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        data[at:at + draw(st.integers(0, 6))] = draw(
            st.binary(max_size=6) | st.sampled_from([b"+++\n", b"[", b"]]", b"=", b"\n"]))
    return data.decode("utf-8", errors="replace")


def _check_lesson(text: str) -> None:
    try:
        lesson = parse_lesson(text, "fuzz.md", 0, "fuzz")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.md"), str(exc)
        return
    try:
        start_session(lesson)
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.md"), str(exc)


@FAST_LESSONS
@given(text=edited_lessons())
def test_an_edited_lesson_loads_and_opens_or_is_one_line(text: str) -> None:
    _check_lesson(text)


@FAST_LESSONS
@given(text=byte_edited_lessons())
def test_a_byte_edited_lesson_loads_and_opens_or_is_one_line(text: str) -> None:
    _check_lesson(text)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"), reason="slow: set KMSAN_SLOW=1")
@SLOW
@given(table=keymaps, nested=st.booleans(), lesson=edited_lessons(),
       raw=byte_edited_lessons())
def test_keymaps_and_lessons_under_many_more_edits(tmp_path: Path, table: dict[str, object],
                                                   nested: bool, lesson: str, raw: str) -> None:
    _check_keymap(tmp_path / "keymap.toml", table, nested)
    _check_lesson(lesson)
    _check_lesson(raw)
