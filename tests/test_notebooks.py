"""Chapter notebooks: committed without outputs, in step with their sources, parameterised."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

from tscompress import runner
from tscompress.chapter import NOTEBOOK_PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location("nb_from_py", ROOT / "scripts" / "nb_from_py.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build


def test_every_chapter_has_a_notebook_and_every_notebook_a_chapter():
    assert {p.stem for p in NOTEBOOKS} == set(runner.CHAPTERS)


def test_chapters_only_read_lower_numbered_chapters():
    for chapter, deps in runner.CHAPTERS.items():
        for dep in deps:
            assert dep in runner.CHAPTERS and dep < chapter, (chapter, dep)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_source_and_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    source = ROOT / "notebooks" / "src" / f"{path.stem}.py"
    assert source.is_file(), f"{path.name} has no source {source}"
    made = _builder()(source.read_text(encoding="utf-8"))
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in made.cells], \
        f"{path.name} differs from {source.name}: run python scripts/nb_from_py.py {source.relative_to(ROOT)}"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_takes_the_common_parameters(path):
    params = runner.notebook_parameters(path)
    assert set(params) == set(NOTEBOOK_PARAMETERS), "the parameters cell and chapter.from_notebook differ"
    assert f'chapter.from_notebook("{path.stem}", vars())' in (ROOT / "notebooks" / "src" / f"{path.stem}.py").read_text(encoding="utf-8")
    assert params["dataset"] == "Heartbeat" and params["profile"] == "quick"
