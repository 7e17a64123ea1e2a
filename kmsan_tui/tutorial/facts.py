"""What a lesson can ask the model: named facts, computed from a simulation's state.

A prediction's answer and a goal's condition name a fact and its arguments in the
lesson file (``fact = "free_blocks", zone = "DMA32", order = 10``). Each fact is a
function of the simulation; ``FACTS`` lists them with the arguments they take, so a
lesson file is checked against it when it is loaded (a typo is a one-line error
naming the file and line, not a wrong answer in class).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.metrics import METRICS, Metrics
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import STRATEGIES

FactValue = int | float | str | bool


@dataclass(frozen=True, slots=True)
class Fact:
    """One question the model can answer: its arguments (name -> type) and how."""

    name: str
    doc: str
    args: Mapping[str, type]
    compute: Callable[..., FactValue]
    optional: frozenset[str] = frozenset()  # arguments with a default


def _zone(sim: Simulation, zone: str, node: int) -> Any:
    for z in sim.zones:
        if z.name == zone and z.nid == node:
            return z
    return None


def free_blocks(sim: Simulation, zone: str, order: int, node: int = 0) -> int:
    """free_area[order].nr_free of one zone (0 for a zone the machine does not have)."""
    z = _zone(sim, zone, node)
    return 0 if z is None else int(z.buddyinfo()[order])


def metric(sim: Simulation, name: str) -> FactValue:
    """One field of Simulation.metrics() (see docs/metrics.md for their meaning)."""
    value = getattr(sim.metrics(), name)
    if not isinstance(value, int | float | str | bool):
        raise UserError(f"metric {name!r} is not a single value")
    return value


def metric_mib(sim: Simulation, name: str) -> float:
    """A page-count metric in MiB (what the Metrics tab prints beside the count)."""
    value = metric(sim, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"metric {name!r} is not a page count")
    return round(value * 4096 / (1 << 20), 1)


UNITS = {d.name: d.unit for d in METRICS}


def metric_gib(sim: Simulation, name: str) -> float:
    """A page-count or byte metric in GiB (one decimal)."""
    value = metric(sim, name)
    if isinstance(value, bool) or not isinstance(value, int) or \
            UNITS.get(name) not in ("pages", "bytes"):
        raise UserError(f"metric {name!r} is not a page count or a size in bytes")
    size = value * 4096 if UNITS[name] == "pages" else value
    return round(size / (1 << 30), 1)


def _booted(sim: Simulation, strategy: str, step: str) -> Simulation:
    """This machine (layout, kernel, sanitizer, options, seed) under ``strategy``,
    booted from scratch to ``step`` (or to the end)."""
    other = Simulation(sim.layout, strategy, sim.seed)
    if step:
        other.run_to(step)
    else:
        other.run()
    return other


def best_strategy(sim: Simulation, name: str, step: str = "") -> str:
    """The strategy with the largest value of metric ``name`` on this machine, each
    booted from scratch to ``step`` (or to the end): the comparison in one word."""
    results = {strategy: getattr(_booted(sim, strategy, step).metrics(), name)
               for strategy in STRATEGIES}
    return max(results, key=lambda s: results[s])


def strategy_metric(sim: Simulation, name: str, strategy: str, step: str = "") -> FactValue:
    """Metric ``name`` of this machine booted under ``strategy`` to ``step`` (or to the
    end), whatever strategy the explorer shows now."""
    value = getattr(_booted(sim, strategy, step).metrics(), name)
    if not isinstance(value, int | float | str | bool):
        raise UserError(f"metric {name!r} is not a single value under {strategy}")
    return value


def step_ran(sim: Simulation, step: str) -> bool:
    """Whether ``step`` has run."""
    return step in sim.steps and sim.current > sim.steps.index(step)


FACTS: dict[str, Fact] = {fact.name: fact for fact in (
    Fact("free_blocks", "free blocks of one order in one zone", {"zone": str, "order": int, "node": int},
         free_blocks, frozenset({"node"})),
    Fact("metric", "a metric of the current state", {"name": str}, metric),
    Fact("metric_mib", "a page-count metric in MiB", {"name": str}, metric_mib),
    Fact("metric_gib", "a page-count or byte metric in GiB", {"name": str}, metric_gib),
    Fact("best_strategy", "the strategy with the largest value of a metric", {"name": str, "step": str},
         best_strategy, frozenset({"step"})),
    Fact("strategy_metric", "a metric of this machine under a given strategy",
         {"name": str, "strategy": str, "step": str}, strategy_metric, frozenset({"step"})),
    Fact("step_ran", "whether a boot step has run", {"step": str}, step_ran),
)}

METRIC_NAMES = frozenset(f.name for f in fields(Metrics))


@dataclass(frozen=True, slots=True)
class FactRef:
    """A fact named in a lesson file, with its arguments."""

    name: str
    args: tuple[tuple[str, FactValue], ...]

    def value(self, sim: Simulation) -> FactValue:
        """The fact's value in the simulation's current state."""
        return FACTS[self.name].compute(sim, **dict(self.args))


def fact_ref(table: Mapping[str, Any], where: str) -> FactRef:
    """Check a lesson's ``{fact = ..., <args>}`` table against FACTS; ``where`` names the
    file and key for the error."""
    name = table.get("fact")
    if not isinstance(name, str) or name not in FACTS:
        raise UserError(f"{where}: fact: expected one of {', '.join(sorted(FACTS))}, got {name!r}")
    fact = FACTS[name]
    args: list[tuple[str, FactValue]] = []
    for key, value in table.items():
        if key in ("fact", "op", "value", "tolerance"):
            continue
        kind = fact.args.get(key)
        if kind is None:
            raise UserError(f"{where}: {key}: fact {name!r} takes {', '.join(fact.args) or 'nothing'}")
        if not isinstance(value, int | float | str | bool) or not isinstance(value, kind) \
                or isinstance(value, bool) and kind is int:
            raise UserError(f"{where}: {key}: expected {kind.__name__}, got {value!r}")
        args.append((key, value))
    missing = set(fact.args) - fact.optional - {k for k, _ in args}
    if missing:
        raise UserError(f"{where}: fact {name!r} needs {', '.join(sorted(missing))}")
    given = dict(args)
    if "name" in fact.args:
        metric_name = given.get("name")
        if metric_name not in METRIC_NAMES:
            raise UserError(f"{where}: name: no metric {metric_name!r} (see docs/metrics.md)")
        if name == "metric_mib" and UNITS.get(str(metric_name)) != "pages" or \
                name == "metric_gib" and UNITS.get(str(metric_name)) not in ("pages", "bytes"):
            raise UserError(f"{where}: name: {metric_name!r} is not a size ({name})")
    if "strategy" in given and given["strategy"] not in STRATEGIES:
        raise UserError(f"{where}: strategy: expected one of {', '.join(STRATEGIES)}")
    return FactRef(name, tuple(args))
