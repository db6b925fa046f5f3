"""Deployment artefacts generated from the code's own tables.

``SERVICES`` (deploy/catalog.py), each service's ``ServiceSpec`` and settings
class, and ``TOPICS`` (shared/kafka/topics.py) are the single source of the
Kubernetes manifests under ``k8s/`` and of ``deploy/compose.yaml``:
``printcloud k8s generate`` writes them and ``printcloud k8s check`` (and the tests
in ``tests/deploy/``) fail when a committed file differs from what the code says.
"""
