"""Dagster's side of ``bench/k8s_launch.py``: ``K8sRunLauncher`` launching runs, one after
another as its daemon does, against the stand-in API server.

    python dagster_k8s_launch.py KUBECONFIG RUNS SCRATCH

Prints one JSON line: ``{"runs_per_second": ...}``. The instance lives in SCRATCH with
``K8sRunLauncher`` (the same namespace and image as dagwright's side, the same
``dagwright-k8s/config``-equivalent ``dagster-k8s/config`` tag) and Dagster's default
coordinator, so ``submit_run`` launches at once; the clock runs from the first submit until
the last has returned (its Job created).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CONFIG = {"container_config": {"resources": {"limits": {"memory": "1Gi"}}, "args": ["--x"]}}


def main() -> int:
    kubeconfig, runs, scratch = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    home = scratch / "dagster-home"
    home.mkdir()
    launcher = {
        "module": "dagster_k8s",
        "class": "K8sRunLauncher",
        "config": {
            "service_account_name": "dagster",
            "instance_config_map": "dagster-instance",
            "job_image": "img:1",
            "job_namespace": "data",
            "load_incluster_config": False,
            "kubeconfig_file": kubeconfig,
            "dagster_home": "/opt/dagster/home",
            "run_k8s_config": {"container_config": {"resources": {"requests": {"cpu": "500m"}}}},
        },
    }
    coordinator = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
    settings = {"run_launcher": launcher, "telemetry": {"enabled": False},
                "run_coordinator": coordinator}  # fmt: skip
    (home / "dagster.yaml").write_text(json.dumps(settings))
    from dagster import DagsterInstance
    from dagster_side import submitter

    from jobs import write_job_file

    job_file = write_job_file(str(scratch), "dagster")
    with DagsterInstance.from_config(str(home)) as instance, submitter(
        instance, str(job_file), "one_op"
    ) as submit:  # fmt: skip
        tags = {"dagster-k8s/config": json.dumps(CONFIG)}
        submit(tags)  # warm
        start = time.perf_counter()
        for _ in range(runs):
            submit(tags)
        elapsed = time.perf_counter() - start
    print(json.dumps({"runs_per_second": runs / elapsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
