"""`make bench`: what users pay, measured against the targets, each printed met / NOT MET.

    .venv/bin/python benchmarks/run.py [--only boot|workloads|buddy|tui ...] [--quick]
        [--baseline DIR] [--budget SECONDS] [--results FILE]

Sections (each measurement runs in a process of its own, benchmarks/worker.py, and
stops at its time budget, saying how far it got, so the whole run takes bounded time):

- boot: every shipped layout under every strategy, in-process (load_layout +
  Simulation + every step) with each process's peak RSS; every shipped layout as a
  whole process (``kmsan-tui run --layout L --quiet``: interpreter and imports
  included); two synthetic layouts written to a temporary directory (16 TiB in
  E820_MAX_ENTRIES e820 entries, 3,198 holes; the same with 10,000 holes, past the
  loader's limit, in-process only; 4 PiB with 5-level paging); the numpy reference (64 bytes
  written per page).
- workloads: ``run_workload(sim, "fragmenter", ops)`` on qemu-8g after the boot, at
  1e4, 1e5 and 1e6 operations, per strategy.
- buddy: order-0 alloc+free through ``Simulation.alloc_pages``/``free_pages`` with 10k
  live blocks freed at random, per strategy; the raw ``Zone`` figures beside it.
- tui: the explorer (benchmarks/bench_tui.py) at 120x40 on server-1t and monster-16t;
  launch to first frame.

Every figure is the median of several runs with the min-max range. ``--baseline DIR``
runs the same in-process measurements (and the whole-process boots) against another
checkout and prints both side by side. A full run writes benchmarks/RESULTS.md; a
partial one (--only, --quick) writes only with --results FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import synthetic  # noqa: E402  (stdlib only: the parent stays small, see boot_rss)

STRATEGIES = ("eager", "lazy", "fixed")
SECTIONS = ("boot", "workloads", "buddy", "tui")
WORKLOAD = "fragmenter"
WORKLOAD_LAYOUT = "qemu-8g"
WORKLOAD_SIZES = (10_000, 100_000, 1_000_000)
TUI_LAYOUTS = ("server-1t", "monster-16t")
TUI_SIZE = "120x40"
TUI_ACTIONS = ("step (n)", "step back (u)", "zoom in (+)", "zoom out (-)", "cursor move")


# ---------------------------------------------------------------- figures
def spread(values: Iterable[float], fmt: str = "{:.3f}", unit: str = "") -> str:
    """'median (min-max, n=N)'."""
    vals = sorted(values)
    if not vals:
        return "-"
    med = fmt.format(statistics.median(vals)) + unit
    if len(vals) == 1:
        return f"{med} (n=1)"
    return f"{med} ({fmt.format(vals[0])}-{fmt.format(vals[-1])}, n={len(vals)})"


def med(values: Iterable[float]) -> float:
    vals = list(values)
    return statistics.median(vals) if vals else float("nan")


def ops(value: float) -> str:
    return f"{value:,.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a == a and b == b and b else "-"


@dataclass
class Tree:
    """A checkout to measure. Its kmsan_tui is copied into the run's temporary directory
    and byte-compiled there: the figures are of one snapshot even while the checkout is
    being edited, and a baseline checkout is left untouched. Children import kmsan_tui
    from the copy ($PYTHONPATH, $KMSAN_BENCH_TREE)."""

    name: str
    source: Path
    path: Path
    env: dict[str, str]
    revision: str

    @classmethod
    def make(cls, name: str, source: Path, tmp: Path) -> Tree:
        if not (source / "kmsan_tui").is_dir():
            raise SystemExit(f"{source}: no kmsan_tui package there")
        path = tmp / name
        shutil.copytree(source / "kmsan_tui", path / "kmsan_tui",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = dict(os.environ, KMSAN_BENCH_TREE=str(path), PYTHONPATH=str(path))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(path / "kmsan_tui")],
                       env=env, cwd=path, capture_output=True, check=False)
        return cls(name, source, path, env, revision(source))


def revision(source: Path) -> str:
    """The commit and how many files differ from it, when the checkout is a git one."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=source,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kmsan_tui"], cwd=source,
                               capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (f" + {len(dirty)} changed files in kmsan_tui" if dirty else "")


@dataclass
class Outcome:
    """What a worker said: its result, or an error, or that it had to be stopped."""

    result: dict[str, Any] | None = None
    error: str | None = None
    progress: dict[str, Any] | None = None
    killed_after: float | None = None


def call(tree: Tree, kind: str, args: dict[str, Any], timeout: float) -> Outcome:
    """Run benchmarks/worker.py KIND in ``tree``; kill it after ``timeout`` seconds."""
    proc = subprocess.Popen([sys.executable, str(BENCH / "worker.py"), kind, json.dumps(args)],
                            cwd=tree.path, env=tree.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = Outcome()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        out.killed_after = timeout
    for line in stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "progress" in msg:
            out.progress = msg["progress"]
        elif "result" in msg:
            out.result = msg["result"]
        elif "error" in msg:
            out.error = msg["error"]
    if out.result is None and out.error is None and out.killed_after is None:
        lines = stderr.strip().splitlines()
        out.error = lines[-1] if lines else f"exit status {proc.returncode}"
    return out


def whole_process(tree: Tree, layout: str, runs: int, timeout: float,
                  budget: float) -> dict[str, Any]:
    """Wall time and peak RSS of ``kmsan-tui run --layout L --quiet``, process start to
    exit; at most ``runs`` runs and, past the first, none once ``budget`` s are spent."""
    script = Path(sys.executable).with_name("kmsan-tui")
    cmd = ([str(script)] if script.exists()
           else [sys.executable, "-c", "import sys; from kmsan_tui.cli import main; "
                 "sys.exit(main())"])
    cmd += ["run", "--layout", layout, "--quiet"]
    seconds: list[float] = []
    rss: list[float] = []
    spent = 0.0
    for _ in range(runs):
        if seconds and spent > budget:
            break
        with tempfile.TemporaryFile() as err:
            t = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=tree.path, env=tree.env, stdout=subprocess.DEVNULL,
                                    stderr=err)
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                elapsed = time.perf_counter() - t
                proc.returncode = os.waitstatus_to_exitcode(status)
                peak = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
            else:  # pragma: no cover - no wait4 (Windows): no RSS
                proc.wait()
                elapsed, peak = time.perf_counter() - t, 0
            timer.cancel()
            spent += elapsed
            if proc.returncode != 0:
                err.seek(0)
                text = err.read().decode(errors="replace").strip().splitlines()
                if elapsed >= timeout:
                    return {"runs": seconds, "rss_kib": rss,
                            "error": f"did not finish in {timeout:.0f} s (killed)"}
                return {"runs": seconds, "rss_kib": rss,
                        "error": text[-1] if text else f"exit status {proc.returncode}"}
            seconds.append(elapsed)
            rss.append(peak)
    return {"runs": seconds, "rss_kib": rss}


# ---------------------------------------------------------------- output
class Table:
    def __init__(self, title: str, headers: list[str]) -> None:
        self.title = title
        self.headers = headers
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        widths = [max(len(r[i]) for r in [self.headers, *self.rows])
                  for i in range(len(self.headers))]
        lines = [self.title, "  ".join(h.ljust(w) for h, w in zip(self.headers, widths,
                                                                 strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for r in self.rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |",
                 "|" + "---|" * len(self.headers)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in self.rows]
        return "\n".join(lines)


@dataclass
class Target:
    what: str
    figure: str
    status: str  # "met", "NOT MET", "not measured", ...
    baseline: str = ""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.sections = [s for s in SECTIONS if not args.only or s in args.only]
        self.tmp = Path(tempfile.mkdtemp(prefix="kmsan-bench-"))
        self.synthetic = synthetic.write(self.tmp / "layouts")
        self.trees = [Tree.make("main", Path(args.tree).resolve(), self.tmp)]
        if args.baseline:
            self.trees.append(Tree.make("baseline", Path(args.baseline).resolve(), self.tmp))
        self.tables: list[Table] = []
        self.texts: list[tuple[str, str]] = []
        self.targets: list[Target] = []
        self.data: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    # -- helpers
    def say(self, text: str) -> None:
        print(text, flush=True)

    def table(self, t: Table) -> None:
        self.tables.append(t)
        self.say("\n" + t.text() + "\n")

    def target(self, what: str, figure: str, met: bool | None, partial: bool = False,
               baseline: str = "", status: str | None = None) -> None:
        if status is None:
            status = ("not measured" if met is None else
                      "met (median; not in every run)" if met and partial else
                      "met" if met else "NOT MET")
        self.targets.append(Target(what, figure, status, baseline))

    @property
    def has_baseline(self) -> bool:
        return len(self.trees) > 1

    # -- boot
    def shipped(self) -> list[tuple[str, int, str]]:
        got = call(self.trees[0], "layouts", {}, 120)
        if got.result:
            return [tuple(x) for x in got.result["layouts"]]  # type: ignore[misc]
        self.say(f"shipped layouts: {got.error}; using the files in the layouts folder")
        folder = self.trees[0].path / "kmsan_tui" / "layouts"
        return [(p.stem, 0, "eager") for p in sorted(folder.glob("*.toml"))]

    def boot(self) -> None:
        runs = 2 if self.quick else 3
        layouts = self.shipped()
        self.data["layouts"] = layouts
        inproc: dict[tuple[str, str, str], Outcome] = {}
        for name, _, _ in layouts:
            for strategy in STRATEGIES:
                for tree in self.trees:
                    got = call(tree, "boot", {"layout": name, "strategy": strategy,
                                              "runs": runs, "budget": 30}, 120)
                    inproc[(tree.name, name, strategy)] = got
                    self.say(f"boot {tree.name:<8} {name:<12} {strategy:<6} "
                             f"{self.boot_figure(got)}")
        whole: dict[tuple[str, str], dict[str, Any]] = {}
        for name, _, _ in layouts:
            for tree in self.trees:
                whole[(tree.name, name)] = w = whole_process(
                    tree, name, 2 if self.quick else 5, 60, 30)
                self.say(f"whole process {tree.name:<8} {name:<12} "
                         f"{w.get('error') or spread(w['runs'], unit=' s')}")
        synth = self.boot_synthetic()
        pages = sorted({ram >> 12 for _, ram, _ in layouts if ram}
                       | {r["ram_bytes"] >> 12 for r in self.results(synth) if "ram_bytes" in r})
        ref = call(self.trees[0], "reference", {"pages": pages, "runs": 1 if self.quick else 3},
                   600)
        refs = ref.result["reference"] if ref.result else {}
        if ref.error:
            self.say(f"reference: {ref.error}")
        self.data["numpy"] = ref.result["numpy"] if ref.result else "?"
        self.boot_report(layouts, inproc, whole, synth, refs)

    @staticmethod
    def results(outcomes: dict[Any, Outcome]) -> list[dict[str, Any]]:
        return [o.result for o in outcomes.values() if o.result]

    @staticmethod
    def boot_figure(got: Outcome) -> str:
        r = got.result
        if r is None:
            if got.killed_after is not None:
                p = got.progress or {}
                where = (f"during step {p['step']}/{p['of']} ({p['name']}, running for "
                         f"{got.killed_after - p['seconds']:.0f} s)" if p.get("running") else
                         f"after step {p.get('step', '?')}/{p.get('of', '?')} {p.get('name', '')}")
                return f"did not finish: killed after {got.killed_after:.0f} s, {where}"
            return got.error if (got.error or "").startswith("not run") else f"error: {got.error}"
        if "refused" in r:
            return f"refused by the loader: {r['refused']}"
        if not r["finished"]:
            slow = ", ".join(f"{n} {s:.1f} s" for s, n in r["slowest"])
            return (f"did not finish in {r['seconds']:.0f} s: step {r['step']}/{r['of']} "
                    f"({r['name']}) reached; slowest steps {slow}")
        return spread(r["runs"], unit=" s")

    def boot_synthetic(self) -> dict[tuple[str, str, str], Outcome]:
        budgets = {"holes-16t": 10 if self.quick else 30, "huge-4p": 10 if self.quick else 20,
                   "holes-16t-10k": 10 if self.quick else 30}
        strategies = ("eager",) if self.quick else STRATEGIES
        out: dict[tuple[str, str, str], Outcome] = {}
        for name, path in self.synthetic.items():
            stuck: dict[str, str] = {}  # tree -> the strategy whose boot did not finish
            for strategy in strategies:
                for tree in self.trees:
                    if tree.name in stuck:  # bounded time: one boot over budget is enough
                        out[(tree.name, name, strategy)] = Outcome(
                            error=f"not run: the {stuck[tree.name]} boot did not finish "
                                  f"in {budgets[name]} s")
                        continue
                    got = call(tree, "boot", {"layout": str(path), "strategy": strategy,
                                              "runs": 3, "budget": budgets[name]},
                               budgets[name] + 30)
                    out[(tree.name, name, strategy)] = got
                    if not (got.result and got.result.get("finished")):
                        stuck[tree.name] = strategy
                    self.say(f"boot {tree.name:<8} {name:<12} {strategy:<6} "
                             f"{self.boot_figure(got)}")
        # As a whole process too (eager, the layouts' strategy), where it finished in-process.
        self.data["synthetic_whole"] = whole = {}
        for name, path in self.synthetic.items():
            if name in synthetic.PAST_LOADER_LIMITS:
                continue  # the CLI refuses it, as the kernel would
            for tree in self.trees:
                r = out[(tree.name, name, "eager")].result
                if r and r.get("finished"):
                    whole[(tree.name, name)] = w = whole_process(
                        tree, str(path), 1 if self.quick else 3, budgets[name] + 30,
                        budgets[name])
                    self.say(f"whole process {tree.name:<8} {name:<12} "
                             f"{w.get('error') or spread(w['runs'], unit=' s')}")
        return out

    def boot_report(self, layouts: list[tuple[str, int, str]],
                    inproc: dict[tuple[str, str, str], Outcome],
                    whole: dict[tuple[str, str], dict[str, Any]],
                    synth: dict[tuple[str, str, str], Outcome],
                    refs: dict[str, Any]) -> None:
        headers = ["layout", "strategy", "in-process boot (s)", "whole process (s)",
                   "peak RSS in-process / whole (MiB)", "reference (s)", "boot / reference"]
        if self.has_baseline:
            headers += ["baseline in-process (s)", "baseline whole (s)", "main / baseline"]
        t = Table("Boot: shipped layouts (in-process = load_layout + Simulation + every step; "
                  "whole process = `kmsan-tui run --layout L --quiet`)", headers)

        def ref_of(ram: int) -> tuple[list[float], bool]:
            r = refs.get(str(ram >> 12))
            return (r["runs"], r["extrapolated"]) if r else ([], False)

        for name, ram, default in layouts:
            for strategy in STRATEGIES:
                got = inproc[("main", name, strategy)]
                r = got.result if got.result and got.result.get("finished") else None
                w = whole.get(("main", name)) if strategy == default else None
                ref, extrapolated = ref_of(ram)
                row: list[object] = [name, strategy, self.boot_figure(got),
                                     (w.get("error") or spread(w["runs"], unit=" s")) if w else "",
                                     (f"{r['rss_kib'] / 1024:.1f}" if r else "-")
                                     + (f" / {med(w['rss_kib']) / 1024:.1f}"
                                        if w and w["rss_kib"] else ""),
                                     (spread(ref, "{:.4g}") + (" extrapolated" if extrapolated else ""))
                                     if ref else "-",
                                     f"{med(r['runs']) / med(ref):.3f}" if r and ref else "-"]
                if self.has_baseline:
                    b = inproc[("baseline", name, strategy)]
                    bw = whole.get(("baseline", name)) if strategy == default else None
                    br = b.result if b.result and b.result.get("finished") else None
                    row += [self.boot_figure(b),
                            (bw.get("error") or spread(bw["runs"], unit=" s")) if bw else "",
                            ratio(med(r["runs"]), med(br["runs"])) if r and br else "-"]
                t.add(*row)
        self.table(t)

        headers = ["layout", "strategy", "in-process boot (s)", "peak RSS (MiB)",
                   "whole process (s)", "reference (s)"]
        if self.has_baseline:
            headers += ["baseline in-process (s)", "main / baseline"]
        t = Table("Boot: synthetic layouts (benchmarks/synthetic.py, written to a temporary "
                  "directory)", headers)
        swhole = self.data["synthetic_whole"]
        for (tree, name, strategy), got in synth.items():
            if tree != "main":
                continue
            r = got.result if got.result and got.result.get("finished") else None
            w = swhole.get(("main", name)) if strategy == "eager" else None
            ref, extrapolated = ref_of(r["ram_bytes"]) if r else ([], False)
            row = [name, strategy, self.boot_figure(got),
                   f"{r['rss_kib'] / 1024:.1f}" if r else "-",
                   (w.get("error") or spread(w["runs"], unit=" s")) if w else "",
                   (spread(ref, "{:.4g}") + (" extrapolated" if extrapolated else "")) if ref else "-"]
            if self.has_baseline:
                b = synth[("baseline", name, strategy)]
                br = b.result if b.result and b.result.get("finished") else None
                row += [self.boot_figure(b),
                        ratio(med(r["runs"]), med(br["runs"])) if r and br else "-"]
            t.add(*row)
        self.table(t)

        # Targets.
        def synth_target(name: str, what: str, limit: float) -> None:
            for (tree, lname, strategy), got in synth.items():
                if tree != "main" or lname != name:
                    continue
                r = got.result
                base = self.baseline_fig(synth.get(("baseline", name, strategy)))
                if r and "refused" in r:
                    self.target(f"{what} ({strategy})", self.boot_figure(got), None,
                                status="NOT MET (refused by the loader)", baseline=base)
                elif r and r.get("finished"):
                    self.target(f"{what} ({strategy})", spread(r["runs"], unit=" s"),
                                med(r["runs"]) < limit, max(r["runs"]) >= limit, base)
                else:
                    self.target(f"{what} ({strategy})", self.boot_figure(got), False,
                                baseline=base)

        synth_target("holes-16t", "16 TiB with the most e820 entries the kernel takes (3,200: "
                     "3,198 holes; the first target's 10,000 are over E820_MAX_ENTRIES) boots "
                     "in < 5 s (in-process)", 5)
        synth_target("holes-16t-10k", "the first target: 16 TiB with 10,000 e820 holes boots "
                     "in < 5 s (in-process, the loader's E820_MAX_ENTRIES lifted)", 5)
        synth_target("huge-4p", "4 PiB, 5-level paging, boots in < 1 s (in-process)", 1)
        rows = [(name, w) for (tree, name), w in whole.items() if tree == "main"]
        bad = [f"{name}: {w['error']}" for name, w in rows if w.get("error")]
        ok = [(med(w["runs"]), max(w["runs"]), name) for name, w in rows if not w.get("error")]
        if bad or not ok:
            self.target("any shipped layout as a whole process (`kmsan-tui run --layout L "
                        "--quiet`) < 1 s", "; ".join(bad) or "no figure", False)
        else:
            worst = max(ok)
            figs = ", ".join(f"{n} {m:.2f}" for m, _, n in sorted(ok, key=lambda x: x[2]))
            self.target("any shipped layout as a whole process (`kmsan-tui run --layout L "
                        "--quiet`) < 1 s",
                        f"slowest {worst[2]}: {spread(whole[('main', worst[2])]['runs'], unit=' s')}"
                        f"; medians (s): {figs}", worst[0] < 1, max(x[1] for x in ok) >= 1)
        # The simulation core issue's targets, still checked.
        big = [(n, ram) for n, ram, _ in layouts if ram >= 1 << 40]
        ratios = []
        for n, ram in big:
            for strategy in STRATEGIES:
                r = inproc[("main", n, strategy)].result
                ref, _ = ref_of(ram)
                if r and r.get("finished") and ref:
                    ratios.append((med(r["runs"]) / med(ref), n, strategy))
        if ratios:
            worst_ratio = max(ratios)
            self.target("earlier: server-1t and above, a full boot costs <= 1/2 the numpy "
                        "reference (64 B written per page)",
                        f"at most {worst_ratio[0]:.3f} of it ({worst_ratio[1]}, {worst_ratio[2]})",
                        worst_ratio[0] <= 0.5)
        mon = [inproc.get(("main", "monster-16t", s)) for s in STRATEGIES]
        if all(o and o.result and o.result.get("finished") for o in mon):
            secs = [max(o.result["runs"]) for o in mon if o and o.result]
            peak = max(o.result["rss_kib"] for o in mon if o and o.result) / 1024
            self.target("earlier: monster-16t boots in < 30 s with peak RSS < 1.5 GiB",
                        f"slowest run {max(secs):.2f} s, peak RSS {peak:.0f} MiB",
                        max(secs) < 30 and peak < 1536)
        q = [inproc.get(("main", "qemu-8g", s)) for s in STRATEGIES]
        if all(o and o.result and o.result.get("finished") for o in q):
            meds = [(med(o.result["runs"]), s) for o, s in zip(q, STRATEGIES, strict=True)
                    if o and o.result]
            self.target("earlier: qemu-8g boots in < 0.3 s (in-process)",
                        ", ".join(f"{s} {m:.3f} s" for m, s in meds), max(meds)[0] < 0.3)

    def baseline_fig(self, got: Outcome | None) -> str:
        if got is None:
            return ""
        return self.boot_figure(got)

    # -- workloads
    def workloads(self) -> None:
        budget = self.args.budget or (15.0 if self.quick else 60.0)
        runs = 2 if self.quick else 3
        res: dict[tuple[str, str, int], list[Outcome]] = {}
        # Runs of the trees alternate, so a change in the machine's load hits both alike.
        for strategy in STRATEGIES:
            for n in WORKLOAD_SIZES:
                b = budget if n == WORKLOAD_SIZES[-1] else max(budget, 30.0)
                spent = {tree.name: 0.0 for tree in self.trees}
                going = list(self.trees)
                for _ in range(runs):
                    for tree in list(going):
                        got = call(tree, "workload", {"layout": WORKLOAD_LAYOUT,
                                                      "strategy": strategy,
                                                      "workload": WORKLOAD, "ops": n,
                                                      "budget": b}, b * 2 + 120)
                        res.setdefault((tree.name, strategy, n), []).append(got)
                        r = got.result
                        self.say(f"workload {tree.name:<8} {strategy:<6} {n:>9,} ops: "
                                 f"{self.workload_figure([got], n)}")
                        spent[tree.name] += r["seconds"] if r else b
                        if not r or not r["finished"] or spent[tree.name] > b:
                            going.remove(tree)  # no more runs of this size: over budget
        self.workload_report(res, budget)

    @staticmethod
    def workload_figure(outs: list[Outcome], n: int) -> str:
        done = [o.result for o in outs if o.result and o.result["finished"]]
        if done and len(done) == len(outs):
            return spread([r["ops"] / r["seconds"] for r in done], "{:,.0f}", " ops/s")
        for o in outs:
            r = o.result
            if r and not r["finished"]:
                return (f"did not finish {n:,} ops in {r['seconds']:.0f} s: {r['ops']:,} ops at "
                        f"{r['ops'] / r['seconds']:,.0f} ops/s (last tenth "
                        f"{r['tail_ops_per_s']:,.0f} ops/s)")
            if r is None:
                return (f"killed after {o.killed_after:.0f} s" if o.killed_after
                        else f"error: {o.error}")
        return "-"

    def workload_report(self, res: dict[tuple[str, str, int], list[Outcome]],
                        budget: float) -> None:
        def per_op(tree: str, strategy: str, n: int) -> tuple[float, bool]:
            """Median seconds per op; finished?"""
            outs = res.get((tree, strategy, n), [])
            rs = [o.result for o in outs if o.result]
            if not rs:
                return float("nan"), False
            fin = all(r["finished"] for r in rs) and len(rs) == len(outs)
            return med(r["seconds"] / r["ops"] for r in rs if r["ops"]), fin

        headers = ["strategy", *(f"{n:,} ops (ops/s)" for n in WORKLOAD_SIZES),
                   "time per op, 1e6 / 1e4"]
        if self.has_baseline:
            headers += [f"baseline {n:,} ops (ops/s)" for n in WORKLOAD_SIZES]
        t = Table(f"Workloads: run_workload(sim, {WORKLOAD!r}, ops) on {WORKLOAD_LAYOUT} after "
                  f"the boot (1e6 runs stop at {budget:.0f} s)", headers)
        for strategy in STRATEGIES:
            small, _ = per_op("main", strategy, WORKLOAD_SIZES[0])
            large, fin = per_op("main", strategy, WORKLOAD_SIZES[-1])
            row = [strategy, *(self.workload_figure(res[("main", strategy, n)], n)
                               for n in WORKLOAD_SIZES),
                   (f"{large / small:.2f}" + ("" if fin else " (at the ops reached)"))
                   if small == small and large == large else "-"]
            if self.has_baseline:
                row += [self.workload_figure(res[("baseline", strategy, n)], n)
                        for n in WORKLOAD_SIZES]
            t.add(*row)
        self.table(t)
        for strategy in STRATEGIES:
            small, _ = per_op("main", strategy, WORKLOAD_SIZES[0])
            large, fin = per_op("main", strategy, WORKLOAD_SIZES[-1])
            outs = res[("main", strategy, WORKLOAD_SIZES[-1])]
            base = ""
            if self.has_baseline:
                bs, _ = per_op("baseline", strategy, WORKLOAD_SIZES[0])
                bl, bfin = per_op("baseline", strategy, WORKLOAD_SIZES[-1])
                base = (f"{bl / bs:.2f}x" + ("" if bfin else " (did not finish 1e6)")
                        if bs == bs and bl == bl else "-")
            what = (f"{WORKLOAD} on {WORKLOAD_LAYOUT}, {strategy}: time per op at 1e6 ops "
                    "within 1.5x of 1e4 ops")
            if not fin:
                self.target(what, self.workload_figure(outs, WORKLOAD_SIZES[-1])
                            + (f"; per op {large / small:.1f}x the 1e4 figure at the ops "
                               "reached" if small == small and large == large else ""),
                            False, baseline=base)
            else:
                ratios = [(r.result["seconds"] / r.result["ops"]) / small
                          for r in outs if r.result]
                self.target(what, f"{large / small:.2f}x (per run {min(ratios):.2f}-"
                            f"{max(ratios):.2f}x of the median 1e4 figure); 1e4: "
                            f"{small * 1e6:.1f} us/op, 1e6: {large * 1e6:.1f} us/op",
                            large / small <= 1.5, max(ratios) > 1.5, base)
        outs = res[("main", "lazy", WORKLOAD_SIZES[-1])]
        rs = [o.result for o in outs if o.result]
        what = f"lazy {WORKLOAD} >= 100k ops/s sustained (1e6 ops, and its last tenth)"
        if rs and all(r["finished"] for r in rs) and len(rs) == len(outs):
            rates = [r["ops"] / r["seconds"] for r in rs]
            tails = [r["tail_ops_per_s"] for r in rs]
            self.target(what, f"{spread(rates, '{:,.0f}', ' ops/s')}; last tenth "
                        f"{spread(tails, '{:,.0f}', ' ops/s')}",
                        min(med(rates), med(tails)) >= 100_000,
                        min(min(rates), min(tails)) < 100_000)
        else:
            self.target(what, self.workload_figure(outs, WORKLOAD_SIZES[-1]), False)

    # -- buddy
    def buddy(self) -> None:
        runs = 2 if self.quick else 3
        n = 40_000 if self.quick else 200_000
        budget = 5.0 if self.quick else 20.0
        sim: dict[tuple[str, str], list[Outcome]] = {}
        zone: dict[str, Outcome] = {}
        for strategy in STRATEGIES:
            for i in range(runs):  # the trees alternate
                for tree in self.trees:
                    sim.setdefault((tree.name, strategy), []).append(call(
                        tree, "buddy_sim", {"layout": WORKLOAD_LAYOUT, "strategy": strategy,
                                            "live": 10_000, "ops": n, "budget": budget,
                                            "seed": i + 1}, budget * 3 + 120))
            for tree in self.trees:
                self.say(f"buddy {tree.name:<8} Simulation {strategy:<6} "
                         f"{self.buddy_figure(sim[(tree.name, strategy)])}")
        for tree in self.trees:
            zone[tree.name] = z = call(tree, "buddy_zone", {"runs": runs, "ops": n}, 300)
            self.say(f"buddy {tree.name:<8} Zone: "
                     + (f"mix {spread(z.result['mix'], '{:,.0f}')}, steady "
                        f"{spread(z.result['steady'], '{:,.0f}')} ops/s"
                        if z.result else f"error: {z.error}"))
        headers = ["path", "pattern", "ops/s"]
        if self.has_baseline:
            headers += ["baseline ops/s", "main / baseline"]
        t = Table(f"Buddy allocator, order 0 (an op is one alloc or one free; {n:,} ops per "
                  "run, stopped at " f"{budget:.0f} s)", headers)

        def rates(outs: list[Outcome]) -> list[float]:
            return [o.result["ops_per_s"] for o in outs if o.result]

        for strategy in STRATEGIES:
            outs = sim[("main", strategy)]
            row = [f"Simulation.alloc_pages/free_pages, {WORKLOAD_LAYOUT} booted, {strategy}",
                   "10k live blocks, free one at random + alloc", self.buddy_figure(outs)]
            if self.has_baseline:
                b = sim[("baseline", strategy)]
                row += [self.buddy_figure(b), ratio(med(rates(outs)), med(rates(b)))]
            t.add(*row)
        for key, pattern in (("steady", "10k live pages, free one at random + alloc"),
                             ("mix", "random 50/50 mix, frees LIFO (4 GiB zone)")):
            z = zone["main"].result
            row = ["Zone.alloc_pages/free_pages", pattern,
                   spread(z[key], "{:,.0f}") if z else f"error: {zone['main'].error}"]
            if self.has_baseline:
                bz = zone["baseline"].result
                row += [spread(bz[key], "{:,.0f}") if bz else f"error: {zone['baseline'].error}",
                        ratio(med(z[key]), med(bz[key])) if z and bz else "-"]
            t.add(*row)
        self.table(t)
        for strategy in STRATEGIES:
            outs = sim[("main", strategy)]
            rs = rates(outs)
            base = self.buddy_figure(sim[("baseline", strategy)]) if self.has_baseline else ""
            self.target(f"order-0 alloc+free through Simulation >= 300k ops/s, 10k live blocks, "
                        f"random frees ({strategy})", self.buddy_figure(outs),
                        med(rs) >= 300_000 if rs and len(rs) == len(outs) else False,
                        bool(rs) and min(rs) < 300_000, base)
        z = zone["main"].result
        if z:
            self.target("earlier: >= 500k order-0 alloc+free ops/s (raw Zone, random 50/50 mix)",
                        spread(z["mix"], "{:,.0f}", " ops/s"), med(z["mix"]) >= 500_000,
                        min(z["mix"]) < 500_000,
                        spread(zone["baseline"].result["mix"], "{:,.0f}", " ops/s")
                        if self.has_baseline and zone["baseline"].result else "")
        if not self.quick and not self.args.only_buddy_core:
            proc = subprocess.run([sys.executable, str(BENCH / "bench_buddy.py")],
                                  capture_output=True, text=True, cwd=self.trees[0].path,
                                  env=self.trees[0].env, timeout=300, check=False)
            text = proc.stdout.strip() or proc.stderr.strip()
            self.say(text)
            self.texts.append(("Buddy allocator: more patterns on the raw Zone "
                               "(benchmarks/bench_buddy.py, best of 3)", text))

    @staticmethod
    def buddy_figure(outs: list[Outcome]) -> str:
        rs = [o.result for o in outs if o.result]
        if not rs:
            o = outs[0]
            return f"killed after {o.killed_after:.0f} s" if o.killed_after else f"error: {o.error}"
        fig = spread([r["ops_per_s"] for r in rs], "{:,.0f}", " ops/s")
        unfinished = [r for r in rs if not r["finished"]]
        if unfinished:
            fig += f" ({len(unfinished)} run(s) stopped at the budget after {unfinished[0]['ops']:,} ops)"
        if any(r["failed"] for r in rs):
            fig += f" ({sum(r['failed'] for r in rs)} allocations failed)"
        return fig

    # -- tui
    def tui(self) -> None:
        runs = 1 if self.quick else 3
        rounds = 10 if self.quick else 30
        res: dict[tuple[str, str], list[dict[str, Any]]] = {}
        errors: dict[tuple[str, str], str] = {}
        sweeps: dict[tuple[str, str], dict[str, Any]] = {}
        launches: dict[str, list[float]] = {}
        for layout in TUI_LAYOUTS:
            for i in range(runs):
                for tree in self.trees:  # the trees alternate
                    if (tree.name, layout) in errors:
                        continue
                    cmd = [sys.executable, str(BENCH / "bench_tui.py"), "--layout", layout,
                           "--size", TUI_SIZE, "--launches", "0", "--n", str(rounds), "--json"]
                    if self.quick or i:
                        cmd.append("--no-sweep")
                    got = self.run_json(cmd, tree, 300)
                    if "error" in got:
                        errors[(tree.name, layout)] = got["error"]
                        self.say(f"tui {tree.name:<8} {layout:<12} error: {got['error']}")
                        continue
                    res.setdefault((tree.name, layout), []).append(got)
                    if not self.quick and i == 0:
                        sweeps[(tree.name, layout)] = got
                    acts = got["actions"]
                    self.say(f"tui {tree.name:<8} {layout:<12} run {i + 1}: p95 ms " + ", ".join(
                        f"{a} {acts[a]['p95']:.0f}" for a in TUI_ACTIONS if a in acts))
        for tree in self.trees:
            got = self.run_json([sys.executable, str(BENCH / "bench_tui.py"), "--layout",
                                 TUI_LAYOUTS[0], "--size", TUI_SIZE, "--n", "0", "--launches",
                                 "2" if self.quick else "5", "--json"], tree, 300)
            if "launch_ms" in got:
                launches[tree.name] = got["launch_ms"]
                self.say(f"tui {tree.name:<8} launch to first frame: "
                         f"{spread(got['launch_ms'], '{:.0f}', ' ms')}")
            else:
                self.say(f"tui {tree.name:<8} launch: {got.get('error')}")
        headers = ["layout", "action", "p95 ms", "p50 ms"]
        if self.has_baseline:
            headers += ["baseline p95 ms", "baseline p50 ms"]
        t = Table(f"Explorer at {TUI_SIZE}, eager, around mem_init ({rounds} rounds per run; "
                  "p95 and p50 of each run, then their median and range over the runs)",
                  headers)

        def col(runs_: list[dict[str, Any]], action: str, key: str) -> list[float]:
            return [r["actions"][action][key] for r in runs_ if action in r["actions"]]

        for layout in TUI_LAYOUTS:
            m = res.get(("main", layout), [])
            b = res.get(("baseline", layout), [])
            if not m:
                t.add(layout, "error", errors.get(("main", layout), "-"), "")
                continue
            for action in [*TUI_ACTIONS, "boot: every step", "boot: every step back"]:
                if not col(m, action, "p95"):
                    continue
                row = [layout, action, spread(col(m, action, "p95"), "{:.1f}"),
                       spread(col(m, action, "p50"), "{:.1f}")]
                if self.has_baseline:
                    row += [spread(col(b, action, "p95"), "{:.1f}"),
                            spread(col(b, action, "p50"), "{:.1f}")]
                t.add(*row)
        self.table(t)
        for key, sweep in sweeps.items():
            if sweep.get("slowest"):
                self.texts.append((f"Explorer: slowest single steps of the whole boot, "
                                   f"{key[1]} ({key[0]})", ", ".join(
                                       f"{what} {ms:.0f} ms" for what, ms in sweep["slowest"])))
        for layout in TUI_LAYOUTS:
            m = res.get(("main", layout), [])
            what = (f"explorer at {TUI_SIZE}, {layout}: step, step back, zoom, cursor "
                    "p95 <= 50 ms")
            if not m:
                self.target(what, f"error: {errors.get(('main', layout), '-')}", False)
                continue
            meds = {a: col(m, a, "p95") for a in TUI_ACTIONS}
            fig = "; ".join(f"{a} {spread(v, '{:.0f}', ' ms')}" for a, v in meds.items() if v)
            b = res.get(("baseline", layout), [])
            base = "; ".join(f"{a} {med(col(b, a, 'p95')):.0f}" for a in TUI_ACTIONS
                             if col(b, a, "p95")) if b else ""
            self.target(what, fig, all(med(v) <= 50 for v in meds.values() if v),
                        any(max(v) > 50 for v in meds.values() if v), base)
        if "main" in launches:
            ms = launches["main"]
            self.target("earlier: explorer, first frame <= 1 s after launch (server-1t, "
                        "process start to the map on screen)", spread(ms, "{:.0f}", " ms"),
                        med(ms) <= 1000, max(ms) > 1000,
                        spread(launches["baseline"], "{:.0f}", " ms")
                        if "baseline" in launches else "")

    @staticmethod
    def run_json(cmd: list[str], tree: Tree, timeout: float) -> dict[str, Any]:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tree.path,
                                  env=tree.env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"killed after {timeout:.0f} s"}
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)  # type: ignore[no-any-return]
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}

    # -- report
    def report(self) -> None:
        headers = ["target", "figure: median (min-max, n runs)", "status"]
        if self.has_baseline:
            headers.append("baseline figure")
        t = Table("Targets", headers)
        for tg in self.targets:
            row = [tg.what, tg.figure, tg.status]
            if self.has_baseline:
                row.append(tg.baseline)
            t.add(*row)
        self.say("\n" + t.text())
        minutes = (time.perf_counter() - self.started) / 60
        self.say(f"\n{sum(x.status.startswith('met') for x in self.targets)} of "
                 f"{len(self.targets)} targets met; {minutes:.1f} min")
        path = Path(self.args.results) if self.args.results else (
            None if self.args.only or self.quick else BENCH / "RESULTS.md")
        if path is None:
            self.say("(a partial run: benchmarks/RESULTS.md not written; --results FILE "
                     "writes one)")
            return
        self.write(path, t, minutes)
        self.say(f"written: {path}")

    def write(self, path: Path, targets: Table, minutes: float) -> None:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        lines = [
            "# Benchmark results",
            "",
            f"`{' '.join(['benchmarks/run.py', *sys.argv[1:]])}` on "
            f"{date.today().isoformat()}: {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, numpy {self.data.get('numpy', '?')}; "
            f"{minutes:.1f} min ("
            + ", ".join(f"{k} {v / 60:.1f}" for k, v in self.timings.items()) + ")"
            + (f"; load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
               if load else "") + ".",
            "Measured: " + "; ".join(f"{tr.name} = `{tr.source}` ({tr.revision})"
                                     for tr in self.trees) + ".",
            "",
            "Figures are the median of several runs with the min-max range and the number of "
            "runs. A target is met when its median meets it; \"met (median; not in every "
            "run)\" says a run missed it. A measurement that ran out of its time budget says "
            "how far it got and counts as NOT MET.",
            "",
            targets.markdown().replace("### Targets", "## Targets"),
            "",
            "## Figures",
            "",
        ]
        for table in self.tables:
            lines += [table.markdown(), ""]
        for title, text in self.texts:
            lines += [f"### {title}", "", "```", text, "```", ""]
        notes = BENCH / "NOTES.md"
        if notes.exists():
            lines += [notes.read_text()]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines).rstrip() + "\n")
        tmp.replace(path)


def section_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        if name not in SECTIONS:
            raise argparse.ArgumentTypeError(f"{name!r}: expected one of {', '.join(SECTIONS)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--only", action="extend", type=section_list, default=[],
                        metavar="|".join(SECTIONS),
                        help="run only these sections (repeatable, or comma-separated)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer runs and smaller budgets (a few minutes)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also measure this checkout, side by side")
    parser.add_argument("--tree", metavar="DIR", default=str(ROOT),
                        help="the checkout to measure (default: this one)")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="time budget of each 1e6-op workload run (default 60, --quick 15)")
    parser.add_argument("--results", metavar="FILE",
                        help="write the results here (a full run writes benchmarks/RESULTS.md)")
    parser.add_argument("--no-buddy-patterns", dest="only_buddy_core", action="store_true",
                        help="skip bench_buddy.py's other Zone patterns")
    args = parser.parse_args()
    bench = Bench(args)
    sections: dict[str, Callable[[], None]] = {"boot": bench.boot, "workloads": bench.workloads,
                                               "buddy": bench.buddy, "tui": bench.tui}
    try:
        for name in bench.sections:
            bench.say(f"== {name}")
            t = time.perf_counter()
            sections[name]()
            bench.timings[name] = time.perf_counter() - t
            bench.say(f"== {name}: {bench.timings[name] / 60:.1f} min")
        bench.report()
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
