"""Kubernetes launches: dagwright's Job build and launch rate against a stand-in API server.

    .venv/bin/python bench/k8s_launch.py [--runs 400] [--dagster-python PATH]

Figures (there is no cluster here: the stand-in of ``tests/k8s/standin.py`` answers on
127.0.0.1, checking every Job against the strict Kubernetes OpenAPI schema, as the tests
do; no pod runs):

- build + merge + validate one run's Job: ``build_job`` of a run with a
  ``dagwright-k8s/config`` tag over a ``run_k8s_config`` (median per run);
- launches per second: runs submitted to an instance whose launcher is ``k8s`` with
  ``max_concurrent_launches: 8``, from the first submit until every Job is created
  (goal: >= 50 runs/s);
- Dagster, when ``dagster-k8s`` is installed in its venv: ``K8sRunLauncher.launch_run`` of
  the same number of runs against the same stand-in, one after another as its daemon does
  (dagster #4311), and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

CONFIG = {"container_config": {"resources": {"limits": {"memory": "1Gi"}}, "args": ["--x"]}}


def build_cost(samples: int = 200) -> float:
    """Median seconds to build, merge and validate one run's Job."""
    from dagwright.k8s.manifest import build_job
    from dagwright.runs.models import Run, RunStatus
    from dagwright.settings import K8sLauncher

    settings = K8sLauncher(
        namespace="data",
        image="img:1",
        run_k8s_config={"container_config": {"resources": {"requests": {"cpu": "500m"}}}},
    )
    tags = {"team": "docs", "dagwright-k8s/config": json.dumps(CONFIG)}
    build_job(settings, Run("warm-up", "job", RunStatus.QUEUED, tags, created_at=0.0))
    times = []
    for i in range(samples):
        run = Run(f"run-{i}", "job", RunStatus.QUEUED, tags, created_at=time.time())
        start = time.perf_counter()
        build_job(settings, run)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def standin_process(folder: Path) -> Iterator[Path]:
    """The stand-in API server in a process of its own (a real one is not in ours); the
    kube config file that points at it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.k8s.standin", str(folder)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        yield Path(server.stdout.readline().strip())
    finally:
        server.terminate()
        server.wait(timeout=30)


def launch_rate(runs: int) -> float:
    """Runs per second from the first submit until every Job was created."""
    from tests.jobs import simple

    from dagwright import Instance
    from dagwright.k8s.launcher import K8sRunLauncher

    with tempfile.TemporaryDirectory() as scratch, standin_process(Path(scratch)) as kubeconfig:
        home = Path(scratch) / "home"
        home.mkdir()
        launcher = {"namespace": "data", "image": "img:1", "kubeconfig": str(kubeconfig),
                    "max_concurrent_launches": 8}  # fmt: skip
        (home / "dagwright.yaml").write_text(json.dumps({"run_launcher": {"k8s": launcher}}))
        with Instance.from_home(home) as instance:
            instance.submit_run(simple.chain)  # warm: the client, the schema, the pool
            k8s = instance.launcher
            assert isinstance(k8s, K8sRunLauncher)
            k8s.wait_for_launches()
            start = time.perf_counter()
            for _ in range(runs):
                instance.submit_run(simple.chain, tags={"dagwright-k8s/config": CONFIG})
            k8s.wait_for_launches()
            elapsed = time.perf_counter() - start
            created = sum(1 for r in instance.get_runs() if instance.get_k8s_job(r.run_id))
            assert created == runs + 1, created
    return runs / elapsed


def dagster_rate(python: str, runs: int) -> float | None:
    """Dagster's launches per second against the same stand-in, or None without dagster-k8s."""
    probe = subprocess.run([python, "-c", "import dagster_k8s"], capture_output=True)
    if probe.returncode != 0:
        return None
    script = ROOT / "bench" / "workloads" / "dagster_k8s_launch.py"
    with tempfile.TemporaryDirectory() as scratch:
        from tests.k8s.standin import standin_cluster

        with standin_cluster(Path(scratch)) as (fake, kubeconfig):
            out = subprocess.run(
                [python, str(script), str(kubeconfig), str(runs), scratch],
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                return None
            created = len(fake.jobs)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if created < runs:
            print(f"dagster created {created} of {runs} Jobs", file=sys.stderr)
        return float(result["runs_per_second"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument(
        "--dagster-python", default=str(ROOT / "bench" / ".venv-dagster" / "bin" / "python")
    )
    args = parser.parse_args()
    cost = build_cost()
    rate = launch_rate(args.runs)
    print(f"build + merge + validate one Job:     {cost * 1000:7.2f} ms per run")
    print(f"launches to the stand-in, 8 in flight: {rate:7.1f} runs/s (goal >= 50)")
    theirs = dagster_rate(args.dagster_python, min(args.runs, 50))
    if theirs is None:
        print("Dagster: dagster-k8s is not installed in its venv (or failed; see stderr)")
    else:
        print(f"Dagster K8sRunLauncher, serial:        {theirs:7.1f} runs/s")
        print(f"ratio dagwright / Dagster:             {rate / theirs:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
