"""``kmsan-tui screenshot``: the explorer at a step, rendered headless to an SVG file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kmsan_tui.model.safeio import atomic_write, check_target
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Session
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.runner import Runner


def take_screenshot(sim: Simulation, until_step: str | None, output_path: str | Path,
                    size: tuple[int, int] = (120, 40)) -> Path:
    """Boot ``sim``'s layout, strategy and seed to ``until_step`` (None: before the first
    step) in a session, open the explorer on it headless, and save the screen as SVG.

    ``sim`` is only read for its configuration; the session makes its own simulation.
    The file is written atomically (safeio: never over a device or a directory, no
    temporary file left behind).
    """
    session = Session(sim.layout, sim.config.strategy, sim.seed)
    runner = Runner(session)
    if until_step:
        runner.run_to(session.sim.index_of(until_step))
    app = KmsanApp(runner, flash_changes=False)
    target = check_target(output_path, "screenshot")  # before the rendering
    svg = asyncio.run(_render(app, size))
    return atomic_write(target, svg, "screenshot")


async def _render(app: KmsanApp, size: tuple[int, int]) -> str:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        return app.export_screenshot(title=f"kmsan-tui · {app.runner.frame.status}"
                                     if app.runner.frame else "kmsan-tui")
