"""The composition layer: everything that knows every service.

``deploy.catalog`` is the table of deployable services; ``deploy.cli`` the
``printcloud`` command; ``deploy.platform`` the local platform runner and demo;
``deploy.manifests`` the Kubernetes and compose generators; ``deploy.apidocs``
the OpenAPI and AsyncAPI documents of the whole platform.
"""
