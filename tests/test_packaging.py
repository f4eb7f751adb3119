"""The lock, pyproject.toml and environment.yml name the same packages; the notebooks carry no outputs; the library's
rooms are small and import each other without circles."""

import json
import re
import tomllib

from conftest import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _environment_pins() -> dict[str, str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "- pip:")
    pip = [l.strip()[2:] for l in lines[start + 1:] if l.strip().startswith("- ")]
    assert "-r requirements.lock" in pip and "-e ." in pip, pip
    return {_name(p): p.partition("==")[2] for p in pip if not p.startswith("-")}


def test_lock_environment_yml_and_pyproject_name_the_same_packages():
    """pyproject.toml's packages (with the dev and ray extras) are the lock's direct ones, pinned in
    environment.yml at the lock's versions; every line of the lock is an exact pin."""
    from tscompress.lock import read_lock

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(r) for r in project["dependencies"] + extras["dev"] + extras["ray"]}
    lock_text = (ROOT / "requirements.lock").read_text()
    pins = read_lock(ROOT / "requirements.lock")
    direct = {_name(l) for l in lock_text.splitlines() if l.endswith("# direct")}
    assert direct == wanted
    env = _environment_pins()
    assert set(env) == wanted
    assert all(env[name] == pins[name] for name in env), {n: (env[n], pins[n]) for n in env if env[n] != pins[n]}
    exact = [l.split("#")[0].strip() for l in lock_text.splitlines() if l.split("#")[0].strip()]
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9][0-9A-Za-z.!+-]*", l) for l in exact), exact
    assert len(pins) == len(exact) > len(wanted)  # the closure, each package once


def test_no_import_circle_in_the_library():
    """Every ``import`` of a tscompress module inside the library, at module level or in a function, drawn as a
    graph: it has no cycle (a package importing its own submodules excepted)."""
    import ast

    src = ROOT / "src"
    modules = {}
    for path in (src / "tscompress").rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                deps |= {t for t in [target] + [f"{target}.{a.name}" for a in node.names] if t in modules}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}

    def reaches(start, goal, seen):
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and not seen.add(nxt) and reaches(nxt, goal, seen)):
                return True
        return False

    circles = sorted(n for n in graph if reaches(n, n, set()))
    assert not circles, circles


def test_data_and_book_are_packages_of_small_modules():
    for package in ("data", "book"):
        folder = ROOT / "src" / "tscompress" / package
        sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("*.py")}
        assert len(sizes) >= 4 and max(sizes.values()) < 300, sizes


def test_notebooks_are_committed_without_outputs():
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), nb.name
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), nb.name
