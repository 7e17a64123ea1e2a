"""The KMSAN metadata strategies, in one place: name -> class, description, options.

Everything that offers a choice of strategy reads this table: the layout loader
validates ``[kernel] strategy`` and the strategy options against it, the CLI builds
``--strategy`` and the option flags from it, the explorer's strategy keys and the
comparison cycle through ``STRATEGIES`` in this order. A fourth strategy is one
module under ``model/strategies/`` and one entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.strategies.base import MetadataStrategy, NoMetadata, StrategyBase
from kmsan_tui.model.strategies.eager import EagerStrategy
from kmsan_tui.model.strategies.fixed import BACKINGS, FixedStrategy
from kmsan_tui.model.strategies.lazy import LazyStrategy


@dataclass(frozen=True, slots=True)
class StrategyOption:
    """A setting of one strategy: a ``KernelConfig`` field and a layout ``[kernel]`` key."""

    key: str  # the field name; the CLI flag is --key-with-dashes
    choices: tuple[str, ...]
    default: str
    help: str


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """One strategy: its class, what it is, and the settings it takes."""

    name: str
    cls: type[StrategyBase]
    summary: str  # one line, for --help, the palette and the comparison
    options: tuple[StrategyOption, ...] = ()


REGISTRY: dict[str, StrategyInfo] = {info.name: info for info in (
    StrategyInfo(
        "eager", EagerStrategy,
        "upstream (mm/kmsan/init.c): at memblock_free_all() two of every three chunks of an "
        "order are held back as shadow and origin; pointers in struct page (80 bytes)"),
    StrategyInfo(
        "lazy", LazyStrategy,
        "google/kmsan (2017-2019): each alloc_pages() of order k takes two more order-k blocks "
        "for shadow and origin; untracked when they fail; the kernel image gets buddy chunks "
        "after mm_init()",
        (StrategyOption("lazy_activation", ("mem_init", "page_ext_init"), "mem_init",
                        "lazy: when it starts allocating metadata (page_ext_init: a back-fill "
                        "walk finds what was handed out before)"),
         StrategyOption("lazy_storage", ("struct_page", "page_ext"), "struct_page",
                        "lazy: where the shadow/origin pointers live"))),
    StrategyInfo(
        "fixed", FixedStrategy,
        "FreeBSD/NetBSD: shadow and origin at fixed virtual offsets, no pointers in struct "
        "page; backed 2 MiB (or 4 KiB) at a time as memory is handed out, page tables counted",
        (StrategyOption("fixed_backing", BACKINGS, "on-demand",
                        "fixed: back shadow/origin as memory is handed out "
                        "(on-demand, the BSD design) or all at boot"),)),
)}

STRATEGIES: tuple[str, ...] = tuple(REGISTRY)
"""Strategy names in the order the explorer and the comparison cycle through them."""


def strategy_info(name: str) -> StrategyInfo:
    """The registry entry of ``name``; a UserError naming the choices if there is none."""
    info = REGISTRY.get(name)
    if info is None:
        raise UserError(f"unknown strategy {name!r} (expected {', '.join(STRATEGIES)})")
    return info


def all_options() -> tuple[StrategyOption, ...]:
    """Every strategy's options, in registry order."""
    return tuple(opt for info in REGISTRY.values() for opt in info.options)


def option_choices(key: str) -> tuple[str, ...]:
    """The values the strategy option ``key`` accepts."""
    for opt in all_options():
        if opt.key == key:
            return opt.choices
    raise KeyError(key)


def with_defaults(options: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``options`` with every option it does not name at its default, sorted by key: a
    session saved before an option existed means what it meant then."""
    full = {opt.key: opt.default for opt in all_options()}
    full.update(options)
    return tuple(sorted(full.items()))


def make_strategy(config: KernelConfig) -> MetadataStrategy:
    """The strategy object for a kernel configuration (no metadata unless sanitizer=kmsan)."""
    if config.sanitizer != "kmsan":
        return NoMetadata()
    return strategy_info(config.strategy).cls.from_config(config)
