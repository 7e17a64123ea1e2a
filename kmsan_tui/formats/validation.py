"""docs/validation.md: every real boot log the tests hold, imported, booted with every
kernel profile, and compared with the log's own `Memory:` line.

    .venv/bin/python -m kmsan_tui.formats.validation          # rewrite docs/validation.md
    .venv/bin/python -m kmsan_tui.formats.validation --check  # exit 1 if it is stale

The logs and their sources are those of tests/golden/data/dmesg (its README's table is
copied in); the profiles are whatever the model lists in KERNELS when this runs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from kmsan_tui.formats.dmesg import read_dmesg
from kmsan_tui.formats.layout_writer import build_layout
from kmsan_tui.formats.reality import Row, boot, check_layout, dmesg_rows, format_rows, simulated_memory_line
from kmsan_tui.formats.snapshot import view_of
from kmsan_tui.model.layout_types import KERNELS
from kmsan_tui.model.safeio import atomic_write, read_text

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "golden" / "data" / "dmesg"
OUTPUT = ROOT / "docs" / "validation.md"
COMMAND = ".venv/bin/python -m kmsan_tui.formats.validation"


@dataclass(frozen=True, slots=True)
class Result:
    """One log booted with one profile."""

    log: str
    profile: str
    chosen: bool  # the profile the importer chose for this log
    sanitizer: str
    real_available: int
    simulated_available: int | None
    rows: tuple[Row, ...]

    @property
    def error(self) -> float | None:
        if self.simulated_available is None:
            return None
        return (self.simulated_available - self.real_available) / self.real_available


def logs(folder: Path = LOGS) -> list[Path]:
    """The console logs of the folder that carry a Memory: line."""
    return sorted(p for p in folder.glob("*.txt")
                  if read_dmesg(read_text(p, "boot log", 64 << 20), p.name).memory is not None)


def validate(path: Path) -> list[Result]:
    facts = read_dmesg(read_text(path, "boot log", 64 << 20), path.name)
    assert facts.memory is not None
    chosen = build_layout(facts).profile
    out = []
    for profile in KERNELS:
        imported = build_layout(facts, kernel=profile)
        sim = boot(check_layout(imported.text, path.name))
        mem = simulated_memory_line(sim)
        out.append(Result(path.name, profile, profile == chosen, imported.sanitizer,
                          facts.memory.available_k, mem.available_k if mem else None,
                          tuple(dmesg_rows(sim, view_of(sim), facts))))
    return out


def _cell(r: Result) -> str:
    if r.simulated_available is None or r.error is None:
        return "no Memory: line"
    mark = "**" if r.chosen else ""
    return f"{mark}{r.simulated_available}K ({r.error:+.2%}){mark}"


def summary_table(results: list[list[Result]]) -> list[str]:
    """The short table (for the README): each log with the profile the importer chose."""
    lines = ["| log | sanitizer | profile | real available | simulated | error |",
             "|---|---|---|---:|---:|---:|"]
    for per_log in results:
        r = next(x for x in per_log if x.chosen)
        err = "-" if r.error is None else f"{r.error:+.2%}"
        lines.append(f"| `{r.log}` | {r.sanitizer} | {r.profile} | {r.real_available}K | "
                     f"{r.simulated_available}K | {err} |")
    return lines


def _sources(folder: Path) -> list[str]:
    readme = folder / "README.md"
    if not readme.exists():
        return []
    return [line for line in read_text(readme, "README").splitlines() if line.startswith("|")]


def document(results: list[list[Result]], folder: Path = LOGS) -> str:
    out = ["# Validation: simulated boots against real ones", "",
           f"Regenerate this file with `{COMMAND}` (`--check` tells whether it is stale).", "",
           "Each real boot log below is imported (`kmsan-tui import dmesg`), the layout is booted "
           "with every kernel profile the model has, and the `Memory:` line the simulated boot "
           "prints is compared with the log's. Bold: the profile the importer chooses for the "
           "log's kernel. Acceptance: available memory within 1 % with that profile.", "",
           "## Logs", "", *_sources(folder), "",
           "## Available memory (`Memory:` line), simulated against real", "",
           "| log | real | " + " | ".join(KERNELS) + " |",
           "|---|---:|" + "---:|" * len(KERNELS)]
    for per_log in results:
        out.append(f"| `{per_log[0].log}` | {per_log[0].real_available}K | "
                   + " | ".join(_cell(r) for r in per_log) + " |")
    out += ["", "## Summary (the importer's profile)", "", *summary_table(results), "",
            "## Every figure, per log (the importer's profile)", ""]
    for per_log in results:
        r = next(x for x in per_log if x.chosen)
        out += [f"### `{r.log}` ({r.profile}, {r.sanitizer})", "", "```",
                *format_rows(r.rows), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kmsan_tui.formats.validation",
                                description="regenerate docs/validation.md")
    p.add_argument("--logs", type=Path, default=LOGS, help="folder of boot logs")
    p.add_argument("--output", type=Path, default=OUTPUT)
    p.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = p.parse_args(argv)
    results = [validate(path) for path in logs(args.logs)]
    text = document(results, args.logs)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run {COMMAND}\n")
            return 1
        return 0
    atomic_write(args.output, text, "validation report")
    sys.stdout.write("\n".join(summary_table(results)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
