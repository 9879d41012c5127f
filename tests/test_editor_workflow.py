"""What an editor's pull request goes through: the check workflow's commands on a branch, and the git hooks.

The commands are read from .github/workflows/check.yml and .pre-commit-config.yaml and run as CI and
pre-commit run them, in throwaway git repositories, so the files cannot drift from what `kb` accepts.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
KB = Path(sys.executable).parent / "kb"  # the kb script of the environment running the tests (.venv/bin/kb)

CHECK_WORKFLOW = REPO / ".github" / "workflows" / "check.yml"
TEST_WORKFLOW = REPO / ".github" / "workflows" / "test.yml"
HOOKS_MANIFEST = REPO / ".pre-commit-hooks.yaml"
HOOKS_CONFIG = REPO / ".pre-commit-config.yaml"

DATE_MESSAGE = "日付は YYYY-MM-DD で書いてください（「2024-13-45」）"
CATEGORY_MESSAGE = "「C 規制強化」は使えません。"


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """An environment where git ignores the user's and the system's configuration and can commit anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="編集者",
        GIT_AUTHOR_EMAIL="editor@example.org",
        GIT_COMMITTER_NAME="編集者",
        GIT_COMMITTER_EMAIL="editor@example.org",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
    )
    return env


def _git(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _edited(text: str, number: int, *edits: tuple[str, str]) -> str:
    """A file written as 2024-0071 as 管理番号 `number`, with each (old, new) replaced once."""
    for key in ("number", "serial"):
        text = text.replace(f"\n{key}: 71\n", f"\n{key}: {number}\n", 1)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _renumbered(fixture: Path, number: int) -> str:
    """A fixture (written as 令和6年 管理番号71) as 管理番号 `number`, so its path and its number agree."""
    return _edited(fixture.read_text(encoding="utf-8"), number)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _corpus_repo(path: Path, env: dict[str, str]) -> Path:
    """A git repository on branch main whose proposals/ is the test corpus (six valid proposals)."""
    shutil.copytree(FIXTURES / "corpus", path / "proposals")
    _git(path, env, "init", "--quiet", "--initial-branch=main")
    return path


def _workflow_steps() -> list[dict]:
    workflow = yaml.safe_load(CHECK_WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers["pull_request"]["paths"]) >= {"proposals/**", "data/**"}
    return workflow["jobs"]["check"]["steps"]


def _as_ci_runs_it(command: str, base: str, db: Path) -> list[str]:
    """A workflow command with the base branch filled in and .venv/bin/kb as the kb running these tests."""
    command = command.replace("${{ github.base_ref }}", base).replace("/tmp/kb.db", str(db))
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/kb", command
    return [str(KB), *argv[1:]]


def test_workflow_commands_annotate_a_broken_proposal_on_a_branch(tmp_path: Path, git_env: dict[str, str]) -> None:
    steps = _workflow_steps()
    checkout = next(step for step in steps if str(step.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "--changed compares with the base branch: its history must be fetched"
    runs = [step["run"] for step in steps if "run" in step]
    assert all("\n" not in run.strip() for run in runs), "one command per run: line"
    runs = [run.strip() for run in runs]
    assert runs == [
        "make install",
        ".venv/bin/kb check --format github --changed origin/${{ github.base_ref }}",
        ".venv/bin/kb check",
        ".venv/bin/kb fmt --check",
        ".venv/bin/kb build --db /tmp/kb.db",
        "make test",
    ]
    # make install and make test are the set-up and this very suite: not run here.
    kb_runs = [run for run in runs if run.startswith(".venv/bin/kb ")]

    # The base repository: the corpus, and a file that is already broken on main (as a data/ change can do).
    upstream = _corpus_repo(tmp_path / "upstream", git_env)
    _write(upstream / "proposals" / "2024" / "0073.md", _renumbered(FIXTURES / "broken" / "category_unknown.md", 73))
    _git(upstream, git_env, "add", ".")
    _git(upstream, git_env, "commit", "--quiet", "-m", "corpus")

    # The pull request, checked out as actions/checkout does (a clone, so origin/main exists), on its branch:
    # a new proposal with a bad date, and a valid proposal rewritten in a non-canonical layout.
    pr = tmp_path / "pr"
    _git(tmp_path, git_env, "clone", "--quiet", str(upstream), str(pr))
    _git(pr, git_env, "checkout", "--quiet", "-b", "add-2024-0072")
    _write(pr / "proposals" / "2024" / "0072.md", _renumbered(FIXTURES / "broken" / "date_invalid.md", 72))
    valid = pr / "proposals" / "2024" / "0071.md"
    valid.write_text(
        valid.read_text(encoding="utf-8").replace("category: B 地方に対する規制緩和", "category: B"), encoding="utf-8"
    )
    _git(pr, git_env, "add", ".")
    _git(pr, git_env, "commit", "--quiet", "-m", "令和6年 管理番号72 を追加")

    db = tmp_path / "kb.db"
    done = {
        run: subprocess.run(_as_ci_runs_it(run, "main", db), cwd=pr, env=git_env, capture_output=True, text=True)
        for run in kb_runs
    }

    changed = done[kb_runs[0]]
    assert changed.returncode == 1, changed.stderr
    annotations = changed.stdout.splitlines()
    assert annotations == [f"::error file=proposals/2024/0072.md,line=22,title=decision.date（閣議決定日）::{DATE_MESSAGE}"]
    # Only the branch's files are read: not the broken file already on main, and the valid changed one is fine.
    assert "0073" not in changed.stdout + changed.stderr
    assert all(re.match(r"::error file=[^,]+,line=\d+,title=[^:]+::.", line) for line in annotations)

    everything = done[".venv/bin/kb check"]
    assert everything.returncode == 1
    assert f"proposals/2024/0072.md:22: decision.date（閣議決定日）: {DATE_MESSAGE}" in everything.stderr
    assert f"proposals/2024/0073.md:7: category（提案区分）: {CATEGORY_MESSAGE}" in everything.stderr

    fmt = done[".venv/bin/kb fmt --check"]
    assert fmt.returncode == 1
    assert fmt.stdout.splitlines() == ["整形が必要: proposals/2024/0071.md"]
    assert "category: B\n" in (pr / "proposals" / "2024" / "0071.md").read_text(encoding="utf-8")  # not rewritten

    build = done[kb_runs[-1]]
    assert build.returncode == 1
    assert DATE_MESSAGE in build.stderr + build.stdout
    assert not db.exists()


def test_test_workflow_runs_make_test_on_every_push() -> None:
    workflow = yaml.safe_load(TEST_WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))
    assert "push" in triggers and "pull_request" in triggers
    runs = [step["run"].strip() for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    assert runs == ["make test"]
    # .ci/run and the README's test command are the same make test, which checks the proposal files first.
    assert (REPO / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith("make test")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test:.*\bcheck\b", makefile, re.MULTILINE)
    check_target = r"^check:.*\n\t\$\(BIN\)/kb check proposals\n\t\$\(BIN\)/kb fmt --check proposals$"
    assert re.search(check_target, makefile, re.MULTILINE)


def _pre_commit(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_pre_commit_hooks_run_kb_check_in_a_repo(tmp_path: Path, git_env: dict[str, str]) -> None:
    # Both files pass pre-commit's own schema.
    for command, path in (("validate-manifest", HOOKS_MANIFEST), ("validate-config", HOOKS_CONFIG)):
        valid = _pre_commit([command, str(path)], REPO, git_env)
        assert valid.returncode == 0, valid.stdout + valid.stderr

    manifest = {hook["id"]: hook for hook in yaml.safe_load(HOOKS_MANIFEST.read_text(encoding="utf-8"))}
    assert {hid: (h["entry"], h["language"], h["files"], h["pass_filenames"]) for hid, h in manifest.items()} == {
        "kb-check": ("kb check", "python", r"^proposals/.*\.md$", True),
        "kb-fmt": ("kb fmt --check", "python", r"^proposals/.*\.md$", True),
    }
    config = yaml.safe_load(HOOKS_CONFIG.read_text(encoding="utf-8"))
    [local] = config["repos"]
    assert local["repo"] == "local"
    assert {hook["id"]: (hook["entry"], hook["language"]) for hook in local["hooks"]} == {
        "kb-check": (".venv/bin/kb check", "system"),
        "kb-fmt": (".venv/bin/kb fmt --check", "system"),
    }

    # The repository's own config, run by pre-commit in a repository of proposals. The hooks are
    # language: system, so nothing is installed. (`pre-commit try-repo` would test the manifest's
    # language: python hooks, but it pip-installs this whole project from the network: too slow here.)
    repo = _corpus_repo(tmp_path / "repo", git_env)
    for hook in local["hooks"]:
        hook["entry"] = hook["entry"].replace(".venv/bin/kb", shlex.quote(str(KB)), 1)
    _write(repo / ".pre-commit-config.yaml", yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    broken = "proposals/2024/0072.md"
    _write(repo / broken, _renumbered(FIXTURES / "broken" / "date_invalid.md", 72))
    _git(repo, git_env, "add", ".")

    failed = _pre_commit(["run", "--color", "never", "--files", broken], repo, git_env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"kb check（提案ファイルの検査）\.*Failed", failed.stdout), failed.stdout
    assert f"{broken}:22: decision.date（閣議決定日）: {DATE_MESSAGE}" in failed.stdout
    assert "1 件の問題があります" in failed.stdout

    passed = _pre_commit(["run", "--color", "never", "--files", "proposals/2024/0071.md"], repo, git_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"kb check（提案ファイルの検査）\.*Passed", passed.stdout), passed.stdout
    assert re.search(r"kb fmt --check（書式の確認）\.*Passed", passed.stdout), passed.stdout


def test_contributing_quotes_the_messages_kb_check_prints(tmp_path: Path) -> None:
    """Every message in CONTRIBUTING.md's table of common messages is one `kb check` really prints."""
    valid = (FIXTURES / "valid" / "2024" / "0071.md").read_text(encoding="utf-8")
    proposals = tmp_path / "proposals"
    _write(proposals / "2024" / "0071.md", valid)
    _write(proposals / "2023" / "0071.md", valid)  # the wrong year's folder, and the same id twice
    _write(proposals / "2024" / "0001.md", _edited(valid, 1, ("era: 令和6年", "era: 令和7年")))
    _write(proposals / "2024" / "0002.md", _edited(valid, 2, ("sheet_ministry: デジタル庁", "sheet_ministry: 内閣府")))
    _write(
        proposals / "2024" / "0003.md",
        _edited(valid, 3, ("date: 2024-12-24", "date: 2042-12-24"), ("policy_field: 11_総務", "policy_field: 99_宇宙")),
    )
    subprocess.run([str(KB), "new", "2025", "12"], cwd=tmp_path, check=True, capture_output=True)
    fixtures = [FIXTURES / "broken", FIXTURES / "broken_path", FIXTURES / "registries" / "typos", FIXTURES / "editor_faults" / "section_missing"]
    printed = ""
    for paths in (["proposals"], [str(path) for path in fixtures]):  # apart: the fixtures share the id 2024-0071
        done = subprocess.run([str(KB), "check", *paths], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 1
        printed += done.stdout + done.stderr

    guide = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    table = guide[guide.index("## よくあるメッセージと直し方") :]
    quoted = re.findall(r"^\| `([^`]+)`", table, re.MULTILINE)
    # `kb fmt` / `kb new` lines and shortened quotes (…) are not kb check's messages.
    messages = [m for m in quoted if "…" not in m and not m.startswith(("proposals/", "整形", "kb "))]
    assert len(messages) >= 25
    missing = [m for m in messages if m not in printed]
    assert not missing, f"CONTRIBUTING.md quotes messages kb check does not print: {missing}"


def test_readme_sends_editors_to_the_guide() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    editors = readme[readme.index("## 編集者向け") : readme.index("## データベースとサイト")]
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in editors
    assert ".pre-commit-config.yaml" in editors
