"""Helpers of the fuzz tests: a small TOML writer (what tomllib reads back), the paths
of a parsed document, and hostile values to put at them."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

HOSTILE_VALUES = [
    0, -1, -5, 1, 3, 9, 10, 64, 1024, 1025, 4096, 8192, 8193, 65536, 2**31, 2**46, 2**52,
    2**63, 2**64, 2**70, 10**12, True, False, "inf", "1e400", "-1", "0", "1048576P", "4P",
    "1.5G", "0.3K", "0x", "nan", "G", "4G", "", "x" * 300, "\u0000", "\U0001f600", "\n",
    "../../etc/passwd", "/dev/zero", "ctrl+", ",,,", 0.5, float("inf"), float("nan"), [], {},
    [{}], {"start": 0}, [1, 2, 3], [[[]]],
]
HOSTILE = st.one_of(
    # A copy each time: the lists and dicts above are edited in place by later edits,
    # and a shared one would change the next example's draws (FlakyStrategyDefinition).
    st.sampled_from(HOSTILE_VALUES).map(copy.deepcopy), st.integers(-(2**80), 2**80),
    st.text(max_size=12))


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dumps(doc: dict[str, Any]) -> str:
    """TOML text of a document: tables as [a."b"], arrays (of tables too) inline."""
    out: list[str] = []

    def table(prefix: str, t: dict[str, Any]) -> None:
        if prefix:
            out.append(f"[{prefix}]")
        out.extend(f"{json.dumps(str(k))} = {_value(v)}" for k, v in t.items()
                   if not isinstance(v, dict))
        for k, v in t.items():
            if isinstance(v, dict):
                table(f"{prefix}.{json.dumps(str(k))}" if prefix else json.dumps(str(k)), v)

    table("", doc)
    return "\n".join(out) + "\n"


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a document (tables, arrays and leaves)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += paths(value, (*prefix, i))
    return out


def get_path(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def edited(draw: st.DrawFn, base: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``base`` with 1-4 edits: a value replaced by a hostile one, a key removed, a key
    of ``keys`` added with a hostile value, an array entry repeated."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        edit(draw, doc, draw(st.sampled_from(["set", "set", "delete", "add", "repeat"])),
             st.sampled_from(keys))
    return doc


def edit(draw: st.DrawFn, doc: Any, kind: str, keys: st.SearchStrategy[str]) -> None:
    """One edit of ``doc`` in place: ``set`` a value to a hostile one, ``delete`` a key,
    ``add`` a key drawn from ``keys``, or ``repeat`` an array's first entry."""
    where = paths(doc)
    if kind in ("set", "delete") and where:
        path = draw(st.sampled_from(where))
        parent = get_path(doc, path[:-1])
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(HOSTILE)
    elif kind == "add":
        tables = [p for p in where if isinstance(get_path(doc, p), dict)] + [()]
        get_path(doc, draw(st.sampled_from(tables)))[draw(keys)] = draw(HOSTILE)
    elif kind == "repeat":
        arrays = [p for p in where if isinstance(get_path(doc, p), list) and get_path(doc, p)]
        if arrays:
            array = get_path(doc, draw(st.sampled_from(arrays)))
            array.insert(draw(st.integers(0, len(array))), copy.deepcopy(array[0]))
