"""The settings dialog: kernel profile, sanitizer, strategy and each strategy option.

What the command line sets (``--kernel``, ``--sanitizer``, ``--strategy``,
``--lazy-activation``...), chosen in the explorer. It answers with the chosen
``Settings`` (or None); the caller applies them (``tui.settings.apply_settings``),
which says what re-simulating costs: a strategy or option change is recorded in
the session, a kernel or sanitizer change starts a new session that redoes this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.settings import Settings, apply_settings, choices


class SettingsScreen(ModalScreen[Settings | None]):
    """Choose the kernel and KMSAN settings; Apply re-simulates, escape cancels."""

    HELP = """\
## Settings

- **kernel**: the kernel profile whose init calls run, in its order (`v6.1`,
  `v6.8`, `mainline`)
- **sanitizer**: `kmsan`, `kasan` (no KMSAN metadata, KASAN's shadow slot) or
  `none`
- **strategy**: how KMSAN finds memory for shadow and origin (`eager`, `lazy`,
  `fixed`)
- the strategy options: lazy's activation (`mem_init`, or `page_ext_init` with a
  back-fill walk) and where its pointers live (`struct_page`, `page_ext`)

A strategy or option change re-simulates the session's boot steps and workloads
and is recorded in the session, like `S`. A kernel or sanitizer change starts a
new session of the same layout and seed that redoes what this one did (another
profile has other init calls: the boot goes to the last step both share).
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="settings.cancel")]

    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SettingsScreen .dialog-title { text-style: bold; }
    SettingsScreen Grid { grid-size: 2; grid-columns: 18 1fr; height: auto; grid-gutter: 0 1; }
    SettingsScreen Grid Label { padding: 0 0 0 0; width: 100%; }
    SettingsScreen Select { width: 100%; }
    SettingsScreen #setting-help { color: $text-muted; height: auto; min-height: 2; }
    SettingsScreen #changes { height: auto; color: $warning; }
    SettingsScreen Horizontal { height: auto; align-horizontal: right; }
    SettingsScreen Button { margin-left: 1; min-width: 10; }
    """

    def __init__(self, current: Settings) -> None:
        super().__init__()
        self.current = current
        self._help = {name: text for name, _values, text in choices()}
        self._answered = False

    def compose(self) -> ComposeResult:
        values = {"kernel": self.current.kernel, "sanitizer": self.current.sanitizer,
                  "strategy": self.current.strategy, **dict(self.current.options)}
        with Vertical():
            yield Label("Settings: the kernel and KMSAN", classes="dialog-title")
            with Grid():
                for name, options, _text in choices():
                    yield Label(name.replace("_", " "))
                    yield Select([(v, v) for v in options], value=values[name],
                                 allow_blank=False, compact=True, id=f"set-{name}")
            yield Static(id="setting-help")
            yield Static(id="changes")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Apply", variant="primary", id="apply")

    def on_mount(self) -> None:
        self.query_one("#set-kernel", Select).focus()
        self._describe("kernel")
        self._show_changes()

    def chosen(self) -> Settings:
        """The settings the dialog shows now."""
        def value(name: str) -> str:
            v = self.query_one(f"#set-{name}", Select).value
            assert isinstance(v, str)
            return v

        names = [name for name, _values, _text in choices()]
        return Settings(value("kernel"), value("sanitizer"), value("strategy"),
                        tuple(sorted((n, value(n)) for n in names[3:])))

    def _describe(self, name: str) -> None:
        self.query_one("#setting-help", Static).update(f"{name}: {self._help.get(name, '')}")

    def _show_changes(self) -> None:
        chosen = self.chosen()
        changes = chosen.changes(self.current)
        if not changes:
            text = Text("nothing changed", style="dim")
        elif chosen.needs_new_session(self.current):
            text = Text("Apply starts a new session of this layout that redoes this one: "
                        + "; ".join(changes))
        else:
            text = Text("Apply re-simulates this session (recorded): " + "; ".join(changes))
        self.query_one("#changes", Static).update(text)
        self.query_one("#apply", Button).disabled = not changes

    def on_descendant_focus(self, event: object) -> None:
        widget = getattr(event, "widget", None)
        node = widget
        while node is not None and not (isinstance(node, Select) and node.id):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, Select) and node.id:
            self._describe(node.id.removeprefix("set-"))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._show_changes()

    def _answer(self, settings: Settings | None) -> None:
        if not self._answered and self.is_active:  # one answer, however fast the keys
            self._answered = True
            self.dismiss(settings)

    def action_cancel(self) -> None:
        self._answer(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._answer(self.chosen() if event.button.id == "apply" else None)


class Explorer(Protocol):
    """What opening the settings needs of the explorer screen."""

    runner: Runner
    app: App[int]

    def submit(self, label: str, job: Callable[[], Frame], *, short: bool = False) -> None: ...

    def cancelled(self) -> bool: ...

    def on_progress(self, done: int, total: int, what: str) -> None: ...

    def confirm_leave(self, what: str, then: Callable[[], None], verb: str = "go on") -> None: ...


def apply_from(screen: Explorer, settings: Settings) -> None:
    """Queue ``settings`` on the explorer (asking first when a kernel or sanitizer change
    would leave unsaved work behind)."""
    current = Settings.of(screen.runner.session)

    def apply() -> None:
        screen.submit("applying settings", lambda: apply_settings(
            screen.runner, settings, cancel=screen.cancelled, progress=screen.on_progress))

    if settings.needs_new_session(current):
        screen.confirm_leave("starting a session of another kernel or sanitizer", apply,
                             "change")
    else:
        apply()


def open_settings(screen: Explorer) -> None:
    """The settings dialog on the explorer's session; Apply queues the change."""
    def chosen(settings: Settings | None) -> None:
        if settings is not None:
            apply_from(screen, settings)

    screen.app.push_screen(SettingsScreen(Settings.of(screen.runner.session)), chosen)
