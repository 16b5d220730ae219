"""Distributed steps on Celery (``pip install 'dagwright[celery]'``).

``@job(executor_def=celery_executor)`` runs each step of a launched run as a Celery task
on ``dagwright celery worker`` processes, on any host that has the code and a
``dagwright.yaml`` pointing at the shared store. Importing this package does not import
Celery: the coordinator (:mod:`dagwright.celery.executor`) and the worker
(:mod:`dagwright.celery.worker`) do.
"""

from __future__ import annotations

from dagwright.celery.definition import CeleryExecutorDefinition, celery_executor

__all__ = ["CeleryExecutorDefinition", "celery_executor"]
