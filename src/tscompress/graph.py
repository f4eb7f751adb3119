"""The run graph: which chapter executions a command needs, what each reads, and who executes them.

A *node* is one execution of one chapter notebook on one dataset — and, when the profile has several seeds, for
one seed: seeds are separate nodes, so an engine spreads them; its inputs are the nodes of the same dataset (and
seed) whose results it reads (:data:`tscompress.runner.CHAPTERS`). ``tscompress run`` and ``tscompress book`` both plan
a graph and hand it to an *executor*:

* ``local`` (the default) runs the nodes one after another in dependency order, in this process — exactly
  what the commands always did; the first failure stops the run;
* ``ray`` submits every node as a Ray task as soon as its inputs are finished, on a local Ray (``ray.init``
  with this machine's CPUs) or an existing cluster (``--ray-address``). A failed node takes its dependants
  with it ("skipped") but not the other nodes; the run then ends with one line naming what failed.

Every node is executed by :func:`tscompress.runner.run_chapter`, so writes stay atomic and a rerun resumes:
a node whose inputs did not change is kept ("cached"), whichever executor runs it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .errors import ChapterError, ConfigError

__all__ = ["Node", "RunGraph", "plan", "EXECUTORS", "execute", "NodeResult"]

EXECUTORS = ("local", "ray")


@dataclass(frozen=True, order=True)
class Node:
    dataset: str
    chapter: str
    seed: int | None = None  # None: the notebook runs the profile's seeds (one node for them all)

    def __str__(self) -> str:
        return f"{self.dataset}/{self.chapter}" + ("" if self.seed is None else f"/seed {self.seed}")


@dataclass
class RunGraph:
    """Nodes in a dependency order (every node after its inputs) and each node's inputs."""

    nodes: list[Node]
    inputs: dict[Node, tuple[Node, ...]]

    def dependants(self, node: Node) -> set[Node]:
        """Every node that reads ``node``'s results, directly or through another node."""
        out: set[Node] = set()
        frontier = [node]
        while frontier:
            current = frontier.pop()
            for n in self.nodes:
                if current in self.inputs[n] and n not in out:
                    out.add(n)
                    frontier.append(n)
        return out


def plan(datasets: Iterable[str], chapters: Iterable[str], dependencies: Mapping[str, Iterable[str]] | None = None,
         seeds: Iterable[int] | None = None) -> RunGraph:
    """The graph of ``chapters`` × ``datasets`` (× ``seeds``: one node per seed; ``None``, one node that runs the
    profile's seeds). A chapter's inputs are the chapters it reads (``dependencies``, default
    :data:`tscompress.runner.CHAPTERS`) on the same dataset and seed, where those are part of the plan (a
    ``tscompress run`` of one chapter reads the others' results from disk instead). The order is dataset, then
    seed, then chapter: the local executor finishes the first seed's book before it starts the next seed."""
    if dependencies is None:
        from .runner import CHAPTERS as dependencies  # noqa: N811
    datasets, chapters = list(datasets), list(chapters)
    unknown = [c for c in chapters if c not in dependencies]
    if unknown:
        raise ConfigError(f"unknown chapter(s) {', '.join(unknown)}")
    order: list[str] = []
    visiting: set[str] = set()

    def visit(chapter: str) -> None:
        if chapter in order:
            return
        if chapter in visiting:
            raise ConfigError(f"chapter dependencies form a cycle through {chapter}")
        visiting.add(chapter)
        for dep in dependencies[chapter]:
            if dep in chapters:
                visit(dep)
        visiting.discard(chapter)
        order.append(chapter)

    for chapter in chapters:
        visit(chapter)
    seed_list: list[int | None] = [None] if seeds is None else list(seeds)
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise ConfigError(f"seeds must be a non-empty list of distinct seeds, got {seed_list!r}")
    nodes = [Node(d, c, s) for d in datasets for s in seed_list for c in order]
    inputs = {n: tuple(Node(n.dataset, dep, n.seed) for dep in dependencies[n.chapter] if dep in chapters)
              for n in nodes}
    return RunGraph(nodes, inputs)


@dataclass
class NodeResult:
    node: Node
    status: str  # "ran" | "cached" | "failed" | "skipped"
    seconds: float = 0.0
    outcome: Any = None
    error: str = ""


@dataclass
class _Events:
    on_start: Callable[[Node, int, int], None]
    on_done: Callable[[NodeResult], None]
    results: list[NodeResult] = field(default_factory=list)


def _ignore(*_: Any) -> None:
    return None


def execute(graph: RunGraph, task: Callable[[Node], Any], executor: str = "local", *,
            ray_address: str | None = None, resources: Callable[[Node], Mapping[str, float]] | None = None,
            on_start: Callable[[Node, int, int], None] | None = None,
            on_done: Callable[[NodeResult], None] | None = None) -> list[NodeResult]:
    """Run ``task(node)`` for every node of ``graph``, each after its inputs; ``task`` returns a
    :class:`tscompress.runner.ChapterOutcome`. Returns one :class:`NodeResult` per node, in the graph's order.

    What a node asks of Ray is ``resources(node)`` (``num_cpus``, ``num_gpus``: a dataset of long series may ask
    for two CPUs, one of short series for one); without it, one CPU.
    ``local`` raises the first node's error; ``ray`` runs what it can and then raises a
    :class:`~tscompress.errors.ChapterError` naming the failed and the skipped nodes."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    events = _Events(on_start or _ignore, on_done or _ignore)
    if executor == "local":
        if ray_address is not None:
            raise ConfigError("--ray-address goes with --executor ray")
        return _run_local(graph, task, events)
    return _run_ray(graph, task, events, ray_address, resources or (lambda node: {"num_cpus": 1}))


def _record(events: _Events, result: NodeResult) -> NodeResult:
    events.results.append(result)
    events.on_done(result)
    return result


def _outcome_result(node: Node, outcome: Any) -> NodeResult:
    return NodeResult(node, outcome.status, 0.0 if outcome.status == "cached" else float(outcome.seconds), outcome)


def _run_local(graph: RunGraph, task, events: _Events) -> list[NodeResult]:
    for i, node in enumerate(graph.nodes, 1):
        events.on_start(node, i, len(graph.nodes))
        _record(events, _outcome_result(node, task(node)))
    return events.results


def ray_module():
    """Ray, or one line naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'tscompress[ray]'") from None
    return ray


def _run_ray(graph: RunGraph, task, events: _Events, address: str | None,
             resources: Callable[[Node], Mapping[str, float]]) -> list[NodeResult]:
    ray = ray_module()
    started_here = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:  # a new Ray of this machine's CPUs, even if another one runs here
            kwargs.update(address="local", num_cpus=os.cpu_count() or 1)
        try:
            ray.init(**kwargs)
        except Exception as exc:  # a cluster that cannot be reached, a bad address
            raise ConfigError(f"cannot start or reach Ray ({address or 'local'}): {type(exc).__name__}: {exc}") from None
        started_here = True
    try:
        # on a Ray started here, nodes are admitted only when their CPUs are free (see _schedule); on a cluster
        # that already ran, Ray queues them itself
        capacity = float(ray.cluster_resources().get("CPU", 0)) if started_here else None
        return _schedule(ray, graph, task, events, resources, capacity)
    finally:
        if started_here:
            ray.shutdown()


def _call(task, node):
    return task(node)


def _schedule(ray, graph: RunGraph, task, events: _Events, resources: Callable[[Node], Mapping[str, float]],
              capacity: float | None = None) -> list[NodeResult]:
    """Submit every node once its inputs are done. Ray sets OMP_NUM_THREADS to the task's CPUs: the chapter's
    kernel (a child process) inherits it, so two nodes on two CPUs do not fight over threads (as long as nothing in
    the kernel resets them: aeon's MiniRocket did, see tscompress.reference).

    With ``capacity`` (the CPUs of a Ray started here) a ready node is submitted only when its CPUs are free, the
    nodes that ask for more CPUs first (then the graph's order), so the long series' chain runs on every CPU while
    the short series' nodes wait and then run side by side, one CPU each; a node that fits in the CPUs left is not
    held back. A node asking for more than the capacity is given the capacity."""
    remote = ray.remote(max_retries=0)(_call)
    done: dict[Node, NodeResult] = {}
    pending: dict[Any, tuple[Node, float, float]] = {}
    waiting = list(graph.nodes)
    order = {n: i for i, n in enumerate(graph.nodes)}
    asks = {}
    for n in graph.nodes:
        res = resources(n)
        cpus = float(res.get("num_cpus", 1))
        asks[n] = {"num_cpus": min(cpus, capacity) if capacity else cpus, "num_gpus": float(res.get("num_gpus", 0))}
    count = 0

    while waiting or pending:
        ready_nodes = []
        for node in list(waiting):
            inputs = graph.inputs[node]
            if any(done.get(i) is not None and done[i].status in ("failed", "skipped") for i in inputs):
                waiting.remove(node)
                failed = next(str(i) for i in inputs if done[i].status in ("failed", "skipped"))
                done[node] = _record(events, NodeResult(node, "skipped", error=f"needs {failed}, which did not finish"))
            elif all(i in done for i in inputs):
                ready_nodes.append(node)
        ready_nodes.sort(key=lambda n: (-asks[n]["num_cpus"], order[n]))
        busy = sum(cpus for _, _, cpus in pending.values())
        for node in ready_nodes:
            need = asks[node]
            if capacity is not None and busy + need["num_cpus"] > capacity:
                continue
            waiting.remove(node)
            busy += need["num_cpus"]
            count += 1
            events.on_start(node, count, len(graph.nodes))
            ref = remote.options(**need).remote(task, node)
            pending[ref] = (node, time.perf_counter(), need["num_cpus"])
        if not pending:
            continue
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            node, t0, _ = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the task's own error, wrapped by Ray
                cause = getattr(exc, "cause", None) or exc
                message = str(cause).strip().splitlines()
                done[node] = _record(events, NodeResult(node, "failed", time.perf_counter() - t0,
                                                        error=message[-1] if message else type(cause).__name__))
            else:
                done[node] = _record(events, _outcome_result(node, outcome))
    results = [done[n] for n in graph.nodes]
    failed = [r for r in results if r.status == "failed"]
    if failed:
        skipped = [r for r in results if r.status == "skipped"]
        first = failed[0]
        raise ChapterError(f"{len(failed)} node(s) failed, {len(skipped)} skipped; first: {first.node}: {first.error}; "
                           "finished nodes are kept and a rerun runs only the rest")
    return results
