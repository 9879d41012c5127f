"""The progress bar of `kb harvest` (rich, on the terminal only): pages read, then files imported."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from kb.harvest.run import Events


class RichEvents(Events):
    """A spinner while pages are read, then a bar over the files; nothing when stderr is not a terminal."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )  # fmt: skip
        self.pages = self.progress.add_task("ページを読んでいます", total=None)
        self.files_task: TaskID | None = None

    def __enter__(self) -> RichEvents:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def page(self, url: str) -> None:
        self.progress.update(self.pages, advance=1, description=f"ページ: {url.rsplit('/', 1)[-1]}")

    def files(self, total: int) -> None:
        self.progress.update(self.pages, visible=False)
        self.files_task = self.progress.add_task("ファイル", total=total)

    def file_done(self, url: str) -> None:
        if self.files_task is not None:
            self.progress.update(self.files_task, advance=1, description=f"ファイル: {url.rsplit('/', 1)[-1]}")
