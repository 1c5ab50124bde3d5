"""The GitHub workflows and the complete manifest: actionlint on every workflow, the Pages job graph.

actionlint (with shellcheck and pyflakes on the `run:` scripts) comes from the `test` extra;
the job graph of pages.yml is read from its YAML: plan -> shard (a matrix) -> publish -> deploy.
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

from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
PAGES = WORKFLOWS / "pages.yml"
VENV_BIN = Path(sys.executable).parent


# -- gallery-all.yaml ------------------------------------------------------------


def test_gallery_all_has_every_filter_of_every_layer_with_both_methods():
    from generator.architecture import CONV_LAYERS
    from generator.config import load_manifest

    manifest = load_manifest(REPO / "gallery-all.yaml")
    assert manifest.layers == tuple(name for name, _ in CONV_LAYERS)
    assert len(manifest.jobs) == 13 * 2
    for method in ("pixel", "natural"):
        jobs = [job for job in manifest.jobs if job.settings.method == method]
        assert len(jobs) == 13
        assert sum(len(job.settings.filters) for job in jobs) == 4224
        for job, (_, channels) in zip(jobs, CONV_LAYERS):
            assert tuple(job.settings.filters) == tuple(range(channels))
    assert manifest.site_dir == REPO / "site-all"
    assert manifest.cache_dir == REPO / ".cache" / "gallery-all"


def test_gallery_all_keeps_the_settings_of_gallery_yaml_apart_from_the_filters():
    from dataclasses import replace

    from generator.config import load_manifest

    every, shipped = load_manifest(REPO / "gallery-all.yaml"), load_manifest(REPO / "gallery.yaml")
    assert [(job.layer, job.settings.method) for job in every.jobs] == \
           [(job.layer, job.settings.method) for job in shipped.jobs]
    for mine, theirs in zip(every.jobs, shipped.jobs):
        assert replace(mine.settings, filters=theirs.settings.filters) == theirs.settings, mine.layer
    assert (every.weights, every.precision, every.samples) == (shipped.weights, shipped.precision, shipped.samples)


# -- actionlint --------------------------------------------------------------------


def _tool(name: str) -> str:
    """A binary of the test extra: beside this Python (make test does not put .venv/bin on PATH), else on PATH."""
    found = shutil.which(name, path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _actionlint(*files: Path) -> subprocess.CompletedProcess:
    command = [_tool("actionlint"), "-no-color", "-shellcheck", _tool("shellcheck"),
               "-pyflakes", _tool("pyflakes"), *map(str, files)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def _workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def test_there_are_workflows_to_check():
    assert PAGES in _workflow_files()


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_actionlint_finds_nothing(path):
    result = _actionlint(path)
    assert result.returncode == 0, f"actionlint {path.name}:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_graph_and_script_mistakes(tmp_path):
    """The check above is not vacuous: actionlint, shellcheck and pyflakes all report here."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps:\n"
                      "      - run: echo $UNQUOTED\n"
                      "      - shell: python\n        run: print(undefined_name)\n", encoding="utf-8")
    result = _actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    for finding in ('needs job "nope"', "SC2086", "undefined name 'undefined_name'"):
        assert finding in result.stdout, result.stdout


# -- the job graph of pages.yml ----------------------------------------------------


def _pages() -> dict:
    workflow = yaml.safe_load(PAGES.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def _steps(job: dict, uses: str | None = None) -> list[dict]:
    """A job's steps; with `uses`, those that use that action (any version)."""
    steps = job["steps"]
    return [s for s in steps if s.get("uses", "").split("@")[0] == uses] if uses else steps


def _runs(job: dict) -> list[str]:
    return [" ".join(step["run"].split()) for step in job["steps"] if "run" in step]


def _needs(job: dict) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def test_the_jobs_run_plan_then_the_shards_then_publish_then_deploy():
    jobs = _pages()["jobs"]
    assert list(jobs) == ["plan", "shard", "publish", "deploy"]
    assert [_needs(jobs[name]) for name in jobs] == [[], ["plan"], ["shard"], ["publish"]]


def test_the_shard_count_is_the_manual_input_with_a_default_for_a_push():
    workflow = _pages()
    shards = workflow["on"]["workflow_dispatch"]["inputs"]["shards"]
    assert shards["type"] == "number" and shards["default"] == 8
    assert workflow["env"]["SHARDS"] == "${{ inputs.shards || 8 }}"
    assert workflow["on"]["push"] == {"branches": ["main"],
                                      "paths": ["gallery.yaml", "generator/**", "templates/**", "pyproject.toml"]}


def test_plan_shows_the_plan_and_outputs_the_shard_numbers(tmp_path):
    plan = _pages()["jobs"]["plan"]
    assert 'vgg-gallery plan gallery.yaml --shards "$SHARDS"' in _runs(plan)
    assert plan["outputs"]["shards"] == "${{ steps.matrix.outputs.shards }}"
    (step,) = [step for step in _steps(plan) if step.get("id") == "matrix"]
    assert step["shell"] == "python"
    script = tmp_path / "matrix.py"
    script.write_text(step["run"], encoding="utf-8")
    for shards, expected in (("3", "shards=[1, 2, 3]\n"), ("1", "shards=[1]\n"), ("0", None), ("2.5", None)):
        output = tmp_path / f"output-{shards}"
        output.write_text("", encoding="utf-8")
        env = {**os.environ, "SHARDS": shards, "GITHUB_OUTPUT": str(output)}
        result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
        assert (result.returncode == 0) == (expected is not None), (shards, result.stderr)
        assert output.read_text(encoding="utf-8") == (expected or ""), shards


def test_each_shard_builds_its_part_into_its_own_cached_folder_and_uploads_it():
    shard = _pages()["jobs"]["shard"]
    assert shard["strategy"] == {"fail-fast": False,
                                 "matrix": {"shard": "${{ fromJSON(needs.plan.outputs.shards) }}"}}
    assert shard["timeout-minutes"] == 350
    (build,) = [run for run in _runs(shard) if run.startswith("vgg-gallery build")]
    assert "--shard ${{ matrix.shard }}/" in build and '/"$SHARDS"' in build
    assert "--cache shard-cache" in build and "--no-progress" in build
    (cache,) = _steps(shard, "actions/cache")
    assert cache["with"]["path"].split() == ["shard-cache", "~/.keras/models"]
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"]
    assert "${{ matrix.shard }}" in key and "${{ env.SHARDS }}" in key
    assert key.endswith("${{ hashFiles('gallery.yaml', 'generator/**', 'pyproject.toml') }}")
    assert key.startswith(restore) and "${{ matrix.shard }}" in restore and "hashFiles" not in restore
    (upload,) = _steps(shard, "actions/upload-artifact")
    assert upload["with"]["name"] == "shard-${{ matrix.shard }}" and upload["with"]["path"] == "shard-cache"


def test_publish_merges_the_shards_then_renders_and_uploads_the_site():
    publish = _pages()["jobs"]["publish"]
    (download,) = _steps(publish, "actions/download-artifact")
    assert download["with"] == {"pattern": "shard-*", "path": "shards"}
    runs = _runs(publish)
    merge, site = runs.index("vgg-gallery merge gallery.yaml shards/*"), runs.index("vgg-gallery site gallery.yaml")
    assert merge < site
    steps = _steps(publish)
    assert steps.index(download) < steps.index(next(s for s in steps if "merge" in s.get("run", "")))
    (upload,) = _steps(publish, "actions/upload-pages-artifact")
    assert upload["with"] == {"path": "site"}
    assert steps[-1] is upload


def test_deploy_publishes_the_pages_artifact_with_the_permissions_it_needs():
    workflow = _pages()
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "github-pages"
    (step,) = _steps(deploy, "actions/deploy-pages")
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_the_commands_of_pages_yml_are_ones_the_cli_accepts():
    """Every `vgg-gallery` line, with the matrix, N and the artifact glob filled in, parses (nothing runs)."""
    from generator.cli import parse_args

    filled = {"${{ matrix.shard }}": "3", '"$SHARDS"': "8", "shards/*": "shards/shard-1 shards/shard-2"}
    commands = [run for job in _pages()["jobs"].values() for run in _runs(job) if run.startswith("vgg-gallery ")]
    assert [command.split()[1] for command in commands] == ["plan", "build", "merge", "site"]
    for command in commands:
        for placeholder, value in filled.items():
            command = command.replace(placeholder, value)
        arguments = parse_args(shlex.split(command)[1:])
        assert str(arguments.manifest) == "gallery.yaml", command
        if arguments.command == "plan":
            assert arguments.shards == 8
        if arguments.command == "build":
            assert (arguments.shard, str(arguments.cache), arguments.no_progress) == ("3/8", "shard-cache", True)


MAJOR = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+$")


def test_every_action_is_pinned_to_a_major_version():
    for path in _workflow_files():
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert MAJOR.match(step["uses"]), f"{path.name}: {name}: {step['uses']} is not @vN"
