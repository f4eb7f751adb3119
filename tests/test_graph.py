"""The run graph and its executors (tscompress.graph): plan, order, failure, resume."""

import re

import pytest

from tscompress import graph
from tscompress.errors import ChapterError, ConfigError
from tscompress.runner import CHAPTERS, ChapterOutcome


def _outcome(node, status="ran"):
    return ChapterOutcome(node.chapter, status, 1.0, None, None, [])


def test_plan_orders_every_chapter_after_what_it_reads():
    g = graph.plan(["A", "B"], sorted(CHAPTERS))
    assert len(g.nodes) == 2 * len(CHAPTERS)
    for i, node in enumerate(g.nodes):
        for dep in g.inputs[node]:
            assert dep.dataset == node.dataset and g.nodes.index(dep) < i
    assert set(g.inputs[graph.Node("A", "05_comparison")]) == {graph.Node("A", c) for c in CHAPTERS["05_comparison"]}
    # a plan of one chapter reads the others from disk: no inputs inside the plan
    assert graph.plan(["A"], ["03_quantization"]).inputs[graph.Node("A", "03_quantization")] == ()
    assert graph.plan(["A"], sorted(CHAPTERS)).dependants(graph.Node("A", "00_models")) == {
        graph.Node("A", c) for c in CHAPTERS if c != "00_models"}


def test_plan_refuses_unknown_chapters_and_cycles():
    with pytest.raises(ConfigError, match="unknown chapter"):
        graph.plan(["A"], ["99_nothing"])
    with pytest.raises(ConfigError, match="cycle"):
        graph.plan(["A"], ["x", "y"], {"x": ("y",), "y": ("x",)})


def test_local_executor_runs_in_order_and_stops_at_the_first_failure():
    g = graph.plan(["A"], sorted(CHAPTERS))
    seen = []

    def task(node):
        seen.append(node)
        if node.chapter == "02_distillation":
            raise ChapterError("boom")
        return _outcome(node)

    with pytest.raises(ChapterError, match="boom"):
        graph.execute(g, task, "local")
    assert seen == g.nodes[:3]
    with pytest.raises(ConfigError, match="unknown executor"):
        graph.execute(g, task, "dask")
    with pytest.raises(ConfigError, match="goes with --executor ray"):
        graph.execute(g, task, "local", ray_address="auto")


class _FakeRay:
    """Ray's API as _schedule uses it (remote, options, wait, get), in one process: tasks run when waited for, in
    the order submitted; it records which nodes were running together and with how many CPUs."""

    def __init__(self):
        self.running, self.together, self.asked = {}, [], {}

    def remote(self, **_):
        fake = self

        class Remote:
            def __init__(self, fn):
                self.fn = fn

            def options(self, num_cpus=1, num_gpus=0):
                fn = self.fn

                class Bound:
                    def remote(self, task, node):
                        ref = object()
                        fake.running[ref] = (node, num_cpus, lambda: fn(task, node))
                        fake.asked[node] = num_cpus
                        fake.together.append({n: c for n, c, _ in fake.running.values()})
                        return ref
                return Bound()
        return Remote

    def wait(self, refs, num_returns=1):
        first = refs[0]
        return [first], refs[1:]

    def get(self, ref):
        _, _, call = self.running.pop(ref)
        return call()


def test_ray_scheduling_never_oversubscribes_and_pairs_one_cpu_nodes():
    """On a Ray started here (capacity 2 CPUs) a dataset that asks for two CPUs runs its nodes alone, one that asks
    for one runs two nodes side by side; a node asking for more than the machine has gets the machine."""
    g = graph.plan(["Long", "Short"], sorted(CHAPTERS))
    fake = _FakeRay()
    cpus = {"Long": 2, "Short": 1}
    results = graph._schedule(fake, g, lambda node: _outcome(node), graph._Events(graph._ignore, graph._ignore),
                              lambda node: {"num_cpus": cpus[node.dataset], "num_gpus": 0}, capacity=2)
    assert [r.status for r in results] == ["ran"] * len(g.nodes)
    assert all(sum(running.values()) <= 2 for running in fake.together)
    assert all(len(running) == 1 for running in fake.together if any(n.dataset == "Long" for n in running))
    assert any(len(running) == 2 for running in fake.together)  # two of Short's nodes at once
    assert fake.asked[graph.Node("Long", "00_models")] == 2
    fake = _FakeRay()
    graph._schedule(fake, g, lambda node: _outcome(node), graph._Events(graph._ignore, graph._ignore),
                    lambda node: {"num_cpus": 4}, capacity=2)
    assert set(fake.asked.values()) == {2} and all(len(r) == 1 for r in fake.together)


def test_node_resources_follow_the_datasets_profile():
    from tscompress.runner import node_resources

    of = node_resources("quick", {})["resources"]
    assert of(graph.Node("Heartbeat", "00_models"))["num_cpus"] == 2
    assert of(graph.Node("JapaneseVowels", "00_models"))["num_cpus"] == 1
    assert node_resources("quick", {"resources.num_cpus": 1})["resources"](graph.Node("Heartbeat", "x"))["num_cpus"] == 1


def test_ray_executor_without_ray_fails_in_one_line(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ray(name, *args, **kw):
        if name == "ray":
            raise ImportError("no ray")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"pip install 'tscompress\[ray\]'"):
        graph.execute(graph.plan(["A"], ["00_models"]), _outcome, "ray")


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tscompress[ray]'): ray executor not tested")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_executor_keeps_going_past_a_failure_and_skips_its_dependants(local_ray):
    g = graph.plan(["A", "B"], sorted(CHAPTERS))

    def task(node):  # pickled by value into the Ray workers
        from tscompress.errors import ChapterError
        from tscompress.runner import ChapterOutcome

        if str(node) == "A/01_sparsification":
            raise ChapterError("chapter 01_sparsification failed on purpose")
        return ChapterOutcome(node.chapter, "ran", 0.1, None, None, [])

    done = []
    with pytest.raises(ChapterError) as info:
        graph.execute(g, task, "ray", on_done=done.append)
    message = str(info.value)
    assert message.count("\n") == 0 and "A/01_sparsification" in message and "1 node(s) failed, 1 skipped" in message
    status = {str(r.node): r.status for r in done}
    assert status["A/01_sparsification"] == "failed" and status["A/05_comparison"] == "skipped"
    assert all(s == "ran" for n, s in status.items() if n.startswith("B/"))
    assert sum(s == "ran" for s in status.values()) == len(g.nodes) - 2


TIMING = re.compile(r"seconds|_cpu$|_spe|_lat(64)?$|latency|speed|attn_text|time_verdict|ste_vs_qat|_mem_|mem_verdict|ff_"
                    r"|loss|^recovery_|^unchanged_")
"""numbers.json keys that hold wall times, CPU times, latencies or memory, or sentences built from them, and losses:
torch's float reductions depend on the number of threads (one per Ray task here, the machine's cores locally), so a
loss may differ in its last digits (measured: 2e-5) while every prediction, accuracy and interval is the same. A
sentence built from losses carries "loss" in its key (04's dylora_loss_cmp_*); one that ordered near-equal losses at
full precision under another key made this test fail now and then (CI, 2026-12-04). The PEFT chapter's recovery and
unchanged-adapter sentences quote validation losses to three decimals (smoke: 1.260 under Ray, 1.261 locally, and so
"12 %" or "0 %" of a 0.008 loss gap recovered); their accuracies and predictions are compared through the other keys
and the tables."""


@pytest.mark.slow
@pytest.mark.ci
def test_ray_run_killed_midway_resumes_and_equals_the_local_run(smoke_results, tmp_path):
    """A Ray run in which one node fails leaves the others' results; the rerun (the CLI, --executor ray) runs only
    that node and what depends on it, and every number the book shows equals the local executor's."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tscompress[ray]'): ray executor not tested")
    import json

    import pandas as pd

    from conftest import ROOT, tscompress
    from tscompress.runner import ChapterTask, chapter_names

    local, _ = smoke_results
    results = tmp_path / "smoke"
    params = {"profile": "smoke"}
    real = ChapterTask(ROOT, params, results, progress=False)

    def failing(node):  # the node "killed" mid-way: it fails, its dependants never start
        if node.chapter == "01_sparsification":
            raise RuntimeError("killed on purpose")
        return real(node)

    g = graph.plan(["BasicMotions"], chapter_names(ROOT))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        done = []
        with pytest.raises(ChapterError, match="killed on purpose"):
            graph.execute(g, failing, "ray", on_done=done.append)
    finally:
        ray.shutdown()
    status = {r.node.chapter: r.status for r in done}
    assert status == {"00_models": "ran", "01_sparsification": "failed", "02_distillation": "ran",
                      "03_quantization": "ran", "04_peft": "ran", "05_comparison": "skipped"}
    assert not (results / "BasicMotions" / "01_sparsification").exists()
    assert not list((results / "BasicMotions").glob(".tmp-*"))

    proc = tscompress("book", "--profile", "smoke", "--executor", "ray", "--datasets", "BasicMotions",
                      "--results-dir", str(results), "--output", str(tmp_path / "book"), "--lang", "en")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = json.loads((tmp_path / "book" / "build_times.json").read_text())["steps"]
    ran = {s["step"].split("/", 1)[1]: s["status"] for s in steps if s["step"].startswith("BasicMotions/")}
    assert ran == {"00_models": "unchanged, kept", "01_sparsification": "ran", "02_distillation": "unchanged, kept",
                   "03_quantization": "unchanged, kept", "04_peft": "unchanged, kept", "05_comparison": "ran"}

    for chapter in chapter_names(ROOT):  # the same numbers and tables as the local executor's run
        mine = json.loads((results / "BasicMotions" / chapter / "numbers.json").read_text())
        theirs = json.loads((local / "BasicMotions" / chapter / "numbers.json").read_text())
        assert set(mine) == set(theirs), chapter
        differ = [k for k in mine if mine[k] != theirs[k] and not TIMING.search(k)]
        assert not differ, (chapter, differ[:5])
        a = pd.read_csv(results / "BasicMotions" / chapter / "variants.csv")
        b = pd.read_csv(local / "BasicMotions" / chapter / "variants.csv")
        keep = [c for c in a.columns if not re.search(r"seconds|latency|model_file", c)]
        pd.testing.assert_frame_equal(a[keep], b[keep])
