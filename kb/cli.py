"""`kb` command line: thin wrappers, each calling one library function."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from kb.core.problems import Problem, ProblemError
from kb.core.report import Format, format_problems
from kb.files.disk import os_error_message

if TYPE_CHECKING:  # each command imports what it uses: `kb build` copies the database before the models load
    from kb import pipeline
    from kb.db.dbfile import BackgroundCopy
    from kb.db.result import BuildResult

app = typer.Typer(
    help="bunken-kb: 地方分権改革・提案募集方式の提案ナレッジベース",
    no_args_is_help=True,
    add_completion=False,
)

DEFAULT_DIR = Path("proposals")
PathsArg = Annotated[Optional[list[Path]], typer.Argument(help="ファイルまたはフォルダ（既定: proposals/）")]


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def check(
    paths: PathsArg = None,
    output: Annotated[
        Format, typer.Option("--format", help="出力の形: text（ファイル:行: 項目: 内容）/ github（注釈）/ json（1行1件）")
    ] = Format.TEXT,
    changed: Annotated[
        Optional[str], typer.Option("--changed", metavar="REF", help="git の REF から変わった提案ファイルだけを検査する")
    ] = None,
) -> None:
    """提案ファイルを検査し、すべての問題を「ファイル:行: 項目: 内容」で表示する。"""
    from kb import pipeline

    try:
        result = pipeline.check(paths or [DEFAULT_DIR], changed=changed)
    except ProblemError as exc:  # git could not answer --changed
        for line in format_problems(exc.problems, output):
            typer.echo(line)
        raise typer.Exit(2) from None
    for line in format_problems(result.problems, output):
        if output is Format.TEXT:
            _err(line)  # for people, on stderr as before; the machine formats go to stdout
        else:
            typer.echo(line)
    if not result.ok:
        if output is Format.TEXT:
            _err(f"{len(result.problems)} 件の問題があります")
        raise typer.Exit(1)
    if output is Format.TEXT:
        typer.echo(f"OK: {len(result.files)} 件の提案に問題はありません")


@app.command()
def fmt(
    paths: PathsArg = None,
    check_only: Annotated[bool, typer.Option("--check", help="書き換えずに、整形が必要なファイルを表示する")] = False,
) -> None:
    """提案ファイルを正規の書式に整える（内容は変えない）。"""
    from kb import pipeline

    changed, problems = pipeline.fmt(paths or [DEFAULT_DIR], check_only=check_only)
    for problem in problems:
        _err(str(problem))
    for path in changed:
        typer.echo(f"{'整形が必要' if check_only else '整形しました'}: {path}")
    if problems:
        _err(f"{len(problems)} 件の問題があります。読めなかった所のあるファイルは整形していません（kb check の指摘を直してください）")
    if problems or (check_only and changed):
        raise typer.Exit(1)


SourceUrlOption = Annotated[
    Optional[str], typer.Option("--source-url", "--url", help="出典（個票）の URL。出典に記録する（入力が1つのときだけ）")
]


@app.command()
def new(
    year: Annotated[Optional[int], typer.Argument(help="西暦年（例: 2024）。--from のときは省略可")] = None,
    number: Annotated[Optional[int], typer.Argument(help="管理番号。--from のときは省略可")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="提案フォルダ")] = DEFAULT_DIR,
    sheet: Annotated[
        Optional[Path], typer.Option("--from", metavar="SHEET", help="個票（テキストまたは PDF）の内容から作る")
    ] = None,
    source_url: SourceUrlOption = None,
) -> None:
    """新しい提案ファイルを作る: 「提案」段階の見出しと記入の説明が入った雛形、または --from の個票の内容。"""
    from kb import pipeline
    from kb.files import store

    if (year is None) != (number is None) or (sheet is None and year is None):
        _err("年と管理番号を両方指定してください（例: kb new 2025 12）。個票から作るときは kb new --from 個票.pdf")
        raise typer.Exit(2)
    if sheet is None:
        assert year is not None and number is not None  # checked above
        if source_url:
            _err("--source-url は --from と一緒に使います")
            raise typer.Exit(2)
        try:
            path = store.create_new(directory, year, number)
        except FileExistsError as exc:
            _err(f"{exc.filename}: すでにあります。上書きしません")
            raise typer.Exit(1) from None
        typer.echo(str(path))
        return
    try:
        report = pipeline.new_from_sheet(sheet, directory, year=year, number=number, url=source_url)
    except ProblemError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err("ファイルは作りませんでした")
        raise typer.Exit(1) from None
    for warning in report.warnings:
        _err(f"注意: {warning}")
    _print_check_problems(report.check_problems)
    typer.echo(f"新規: {report.files[0].path}")


def _print_check_problems(problems: list[Problem]) -> None:
    """`kb check`'s problems in files just written: warnings, the files stay for the editor to fix."""
    for problem in problems:
        _err(str(problem))
    if problems:
        _err(f"注意: 書き込んだファイルに kb check の問題が {len(problems)} 件あります。ファイルを直してください")


@app.command()
def show(
    proposal_id: Annotated[str, typer.Argument(metavar="ID", help="提案ID（例: 2024-0071）")],
    directory: Annotated[Path, typer.Option("--dir", help="提案フォルダ")] = DEFAULT_DIR,
) -> None:
    """提案のモデルを JSON で表示する。"""
    from kb.files import store

    try:
        data = store.show(directory, proposal_id)
    except (FileNotFoundError, ValueError) as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


DEFAULT_DB = Path("kb.db")
DbOption = Annotated[Path, typer.Option("--db", help="SQLite データベースのパス")]


@app.command()
def build(
    directory: Annotated[Path, typer.Argument(help="提案フォルダ")] = DEFAULT_DIR,
    db: DbOption = DEFAULT_DB,
    full: Annotated[bool, typer.Option("--full", help="差分更新せず、すべてのファイルから作り直す")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", help="ファイルを読むプロセス数（既定: CPU コア数）")] = None,
) -> None:
    """提案ファイルを検査し、問題がなければ SQLite データベースを作る（前回の DB があれば変わったファイルの分だけ更新。失敗時は既存 DB を変えない）。"""
    from kb.db.ahead import with_copy_ahead

    def run(copy: BackgroundCopy | None) -> BuildResult:
        from kb import pipeline  # the build, its models and steps: loaded while the copy runs

        return pipeline.build(db, [directory], full=full, jobs=jobs, ahead=copy)

    try:
        result = with_copy_ahead(db, run, enabled=not full)
    except ProblemError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err(f"{len(exc.problems)} 件の問題があるため、データベースは作りませんでした")
        raise typer.Exit(1) from None
    typer.echo(result.summary())


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", help="ポート番号")] = 8001,
    db: DbOption = DEFAULT_DB,
    directory: Annotated[Path, typer.Option("--dir", help="提案フォルダ")] = DEFAULT_DIR,
    workers: Annotated[int, typer.Option("--workers", min=1, help="ページを作るプロセス数（CPU コア数までが目安）")] = 1,
    public: Annotated[
        bool, typer.Option("--public", help="インターネットに公開する設定: 任意の SQL を止める（登録済みのクエリ・CSV・JSON・DB のダウンロードは使える）")
    ] = False,
) -> None:
    """DB が無いか提案フォルダより古ければ作り直し、Datasette で http://127.0.0.1:PORT/ に公開する。"""
    from kb.serve import serve as serve_site  # Datasette is only imported when serving

    try:
        serve_site(db, [directory], port=port, announce=typer.echo, workers=workers, public=public)
    except ProblemError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err(f"{len(exc.problems)} 件の問題があるため、データベースを作れず公開しませんでした")
        raise typer.Exit(1) from None


def _statute_registry() -> pipeline.Registry:
    """The statute registry, or exit 1 with every problem of the file."""
    from kb import pipeline

    try:
        return pipeline.statute_registry()
    except ProblemError as exc:
        for problem in exc.problems:
            _err(str(problem))
        raise typer.Exit(1) from None


statutes_app = typer.Typer(add_completion=False)
app.add_typer(statutes_app, name="statutes")
UnresolvedOption = Annotated[bool, typer.Option("--unresolved", help="解決できなかった引用だけを表示する")]


def _statute_report(directory: Path, unresolved: bool) -> None:
    from kb import pipeline

    registry = _statute_registry()
    report = pipeline.statutes([directory], registry)
    for problem in report.problems:
        _err(str(problem))
    if report.problems:
        _err(f"{len(report.problems)} 件の問題があります（kb check で確認してください）")
        raise typer.Exit(1)
    typer.echo(report.render(registry, unresolved_only=unresolved))


@statutes_app.callback(invoke_without_command=True)
def statutes(ctx: typer.Context, unresolved: UnresolvedOption = False) -> None:
    """提案（proposals/）が引用している法令と引用数、法令レジストリで解決できなかった引用を表示する。

    別のフォルダは kb statutes report DIR、e-Gov の法令一覧の更新は kb statutes update。
    """
    if ctx.invoked_subcommand is None:
        _statute_report(DEFAULT_DIR, unresolved)


@statutes_app.command("report")
def statutes_report(
    directory: Annotated[Path, typer.Argument(help="提案フォルダまたはファイル")] = DEFAULT_DIR,
    unresolved: UnresolvedOption = False,
) -> None:
    """指定したフォルダの提案が引用している法令と引用数、解決できなかった引用を表示する。"""
    _statute_report(directory, unresolved)


@statutes_app.command("update")
def statutes_update(
    api_url: Annotated[
        Optional[str],
        typer.Option(
            "--api-url",
            metavar="URL",
            help="法令API のベース URL（既定: 環境変数 KB_EGOV_API、なければ https://laws.e-gov.go.jp/api/2。…/api/1 なら Version 1）",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="変更を表示するだけで、何も書き込まない")] = False,
    force: Annotated[bool, typer.Option("--force", help="取得件数が現在の一覧の半分に満たなくても書き込む")] = False,
) -> None:
    """e-Gov の法令API から現行法令の一覧を取得し、data/egov_laws.csv と出典の記録を更新する（追加・変更・削除を表示）。"""
    from kb import pipeline
    from kb.statutes.update import UpdateRefused

    try:
        result = pipeline.statutes_update(api_url, dry_run=dry_run, force=force)
    except UpdateRefused as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    typer.echo(result.render())


@app.command()
def cite(
    text: Annotated[Optional[str], typer.Argument(metavar="[TEXT | -]", help="文章（省略または「-」で標準入力）")] = None,
) -> None:
    """文章中の法令の引用を1行1件の JSON で表示する（法令ID、題名、種類、条項、e-Gov リンク、引用箇所）。"""
    from kb import pipeline

    registry = _statute_registry()
    source = sys.stdin.read() if text is None or text == "-" else text
    for line in pipeline.cite(source, registry):
        typer.echo(line)


@app.command("import")
def import_sheets(
    paths: Annotated[list[Path], typer.Argument(help="個票のテキストまたは PDF、提案募集方式データベースの xlsx（複数可。1ファイルに複数の個票も可）")],
    out: Annotated[Path, typer.Option("--out", help="提案フォルダ")] = DEFAULT_DIR,
    force: Annotated[bool, typer.Option("--force", help="ファイルと個票で内容が違う箇所を個票の内容で上書きする")] = False,
    source_url: SourceUrlOption = None,
) -> None:
    """内閣府の個票（テキスト・PDF）とデータベース（xlsx）を提案ファイルにする。既存のファイルには新しい節と出典を足す（xlsx は足りない所だけ）。"""
    from kb import pipeline

    if source_url and len(paths) != 1:
        _err("--source-url は入力ファイルが1つのときだけ使えます")
        raise typer.Exit(2)
    report = pipeline.import_(paths, out, force=force, url=source_url)
    for message in report.problems + report.conflicts + report.skipped:
        _err(str(message))
    for warning in report.warnings:
        _err(f"注意: {warning}")
    if not report.ok:
        if report.conflicts:
            _err(f"{len(report.conflicts)} 件の食い違いがあります。確認して直すか、個票の内容で上書きするなら --force を付けてください")
        _err("問題があるため、ファイルは1つも書き込みませんでした")
        raise typer.Exit(1)
    for change in report.files:
        if not change.changed:
            typer.echo(f"変更なし: {change.path}")
            continue
        what = "、".join(change.added + [f"{item}（上書き）" for item in change.replaced])
        typer.echo(f"{'新規' if change.created else '更新'}: {change.path}" + ("" if change.created else f"（{what}）"))
    for change in report.files:
        if change.kept:
            typer.echo(f"編集を残しました: {change.path}: {'、'.join(change.kept)}（個票の内容にするなら --force）")
    _print_check_problems(report.check_problems)
    if report.skipped:
        rows = len({(p.path, p.line) for p in report.skipped})
        _err(f"{rows} 行は取り込めませんでした（上の問題を参照。ほかの行は書き込みました）")
        raise typer.Exit(1)


@app.command()
def harvest(
    years: Annotated[Optional[list[int]], typer.Argument(metavar="[YEAR…]", help="西暦年（省略: すべての年）")] = None,
    base: Annotated[str, typer.Option("--base", help="提案募集のページの URL（テストやミラーでは別の URL）")] = (
        "https://www.cao.go.jp/bunken-suishin/teianbosyu/"
    ),
    out: Annotated[Path, typer.Option("--out", help="提案フォルダ")] = DEFAULT_DIR,
    cache: Annotated[Path, typer.Option("--cache", help="取得したページとファイルのキャッシュ")] = Path(".kb-cache/harvest"),
    delay: Annotated[float, typer.Option("--delay", help="リクエストの間隔（秒、1 以上。127.0.0.1 だけは 0 可）")] = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", help="1リクエストの待ち時間の上限（秒）")] = 30.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="タイムアウト・5xx のときの再試行回数")] = 3,
    max_file_mb: Annotated[int, typer.Option("--max-file-mb", min=1, help="1ファイルの大きさの上限（MB）")] = 100,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="ページだけ読み、取得するファイルを表示する")] = False,
    log: Annotated[Optional[Path], typer.Option("--log", help="見つけたリンクをすべて JSONL で書き出す")] = None,
) -> None:
    """公式サイトの提案募集のページをたどり、個票を取得して提案ファイルに取り込む（変わったものだけ）。"""
    from kb import pipeline

    try:
        summary = pipeline.harvest(
            years or [], base=base, out=out, cache=cache, delay=delay, timeout=timeout, retries=retries,
            max_file_mb=max_file_mb, dry_run=dry_run, log=log, progress=True,
        )  # fmt: skip
    except ValueError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    typer.echo(summary.render())
    if not summary.ok:
        raise typer.Exit(1)


_MAIN_PID = os.getpid()


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP end the command like Ctrl+C does: through Python, so temporary files are removed.

    Only in the command's own process: a forked worker (the build's pool, which its owner stops
    with SIGTERM) dies the default way, as it would without this handler.
    """
    if os.getpid() != _MAIN_PID:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise SystemExit(128 + signum)


def main() -> None:
    """The `kb` command: a file-system fault anywhere ends in one Japanese line naming the path, exit 1."""
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _exit_on_signal)
    try:
        app()
    except OSError as exc:
        _err(os_error_message(exc))
        sys.exit(1)
    finally:
        # The process is ending: its last collection need not walk every object the command made
        # (0.1 s after a one-edit build of 10,000 proposals). Files are closed by their `with` blocks.
        gc.freeze()
