"""Typed, bounded access to an untrusted JSON object: every error is one
``SessionError`` naming the file and the key (``log[3].ops``)."""

from __future__ import annotations

from typing import Any

from kmsan_tui.session.errors import SessionError

MAX_TEXT = 200
"""Characters of a name, a step, a tab or a strategy in a session file."""


class Reader:
    """Typed access to a JSON object that names the file and the key on error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> SessionError:
        return SessionError(f"{self.source}: {where}: {message}" if where
                            else f"{self.source}: {message}")

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...],
            default: Any = ...) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if default is ...:
                raise self.fail(path, "missing")
            return default
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = "/".join(_type_name(k) for k in kinds)
            raise self.fail(path, f"expected {names}, got {_type_name(type(value))}")
        if isinstance(value, str) and len(value) > MAX_TEXT and key not in ("note",):
            raise self.fail(path, f"longer than {MAX_TEXT} characters")
        return value

    def integer(self, obj: dict[str, Any], key: str, where: str, lo: int, hi: int,
                default: Any = ..., optional: bool = False) -> Any:
        kinds: tuple[type, ...] = (int, type(None)) if optional else (int,)
        value = self.get(obj, key, where, kinds, default)
        if isinstance(value, int) and not lo <= value <= hi:
            raise self.fail(f"{where}.{key}" if where else key,
                            f"{value:,} is outside {lo:,}..{hi:,}")
        return value

    def keys(self, obj: dict[str, Any], where: str, allowed: set[str]) -> None:
        extra = sorted(set(obj) - allowed)
        if extra:
            raise self.fail(f"{where}.{extra[0]}" if where else extra[0], "unexpected key")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_type_name(type(value))}")
        return value


_TYPE_NAMES: dict[type, str] = {int: "an integer", str: "a string", dict: "an object",
                                list: "a list", bool: "true/false", float: "a number",
                                type(None): "null"}


def _type_name(kind: type) -> str:
    return _TYPE_NAMES.get(kind, kind.__name__)


def string_map(r: Reader, value: Any, where: str) -> dict[str, str]:
    options = r.obj(value, where)
    for key, item in options.items():
        if not isinstance(item, str) or len(item) > MAX_TEXT or len(key) > MAX_TEXT:
            raise r.fail(f"{where}.{key}", "expected a short string")
    return dict(options)


