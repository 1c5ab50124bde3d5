"""The house rules, checked: the tree is what the docs say, modules stay small, methods stay plug-ins."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest

from conftest import REPO

PACKAGE = REPO / "generator"


def _sources() -> list:
    return sorted([*PACKAGE.rglob("*.py"), *(REPO / "bench").rglob("*.py")])


def test_readme_key_tables_are_written_from_the_schema():
    from generator.config.docs import rewrite

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count("<!-- keys: ") == 4  # manifest, layer, natural, examples
    assert rewrite(readme) == readme, "run: python -m generator.config.docs README.md"


def test_every_manifest_key_of_every_method_has_a_row():
    from generator.config.docs import tables
    from generator.config.schema import keys
    from generator.methods.registry import METHODS

    rows = {row[0].strip("`") for table in tables().values() for row in table}
    for method in METHODS.values():
        prefix = f"{method.section}." if method.section else ""
        for name in keys(method.settings_class):
            assert (name in rows) or (prefix + name in rows), (method.name, name)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= 300, f"{path.name} has over 300 lines: split it by job"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno < 50, f"{path.name}: {node.name} has 50 lines or more"


NAME_TEST = re.compile(r"""(==|!=|\bin)\s*["'](pixel|natural)["']|["'](pixel|natural)["']\s*(==|!=|\bin\b)""")


def test_the_build_and_the_site_never_test_a_methods_name():
    places = [PACKAGE / "build.py", *(PACKAGE / "site").rglob("*.py"), *(REPO / "templates").rglob("*.html")]
    for path in places:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not NAME_TEST.search(line), f"{path.relative_to(REPO)}:{number}: {line.strip()}"


def _module_list(architecture: str, folder: str) -> str:
    """The lines of ARCHITECTURE.md's module list that belong to `folder/` (it and its indented continuation)."""
    lines = architecture.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith(f"{folder}/ ")), None)
    assert start is not None, f"ARCHITECTURE.md has no module line for {folder}/"
    end = start + 1
    while end < len(lines) and lines[end].startswith(" "):
        end += 1
    return " ".join(lines[start:end])


def test_architecture_and_readme_name_every_module_and_folder():
    architecture = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        assert f"  {folder.name}/" in layout, f"README's layout does not name {folder.name}/"
        listed = _module_list(architecture, folder.name)
        for module in sorted(folder.glob("*.py")):
            if module.name != "__init__.py":
                assert module.name in listed, f"ARCHITECTURE.md does not name {folder.name}/{module.name}"


def test_the_repository_holds_no_lock_files_and_ignores_them():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert not [name for name in tracked if name.endswith(".lock")]
    ignored = subprocess.run(["git", "check-ignore", ".site.lock", ".preview.lock"], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert ignored == [".site.lock", ".preview.lock"]
    assert subprocess.run(["git", "check-ignore", "-q", "generator/site/writer.py"], cwd=REPO).returncode == 1


OUTSIDE = ("DESIGN" + ".md", "../" + "shared")  # spelled in two parts so this file does not name them


def test_no_file_refers_to_documents_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    for name in tracked:
        path = REPO / name
        if path.suffix in (".py", ".md", ".html", ".yaml", ".yml", ".toml") and path.is_file():
            text = path.read_text(encoding="utf-8")
            for outside in OUTSIDE:
                assert outside not in text, f"{name} refers to {outside}"
