"""The ``printcloud`` commands of the people who print, and of the public API itself.

``printcloud login --url <base URL> --token <API token>`` stores where the platform
is and the API token (``~/.config/printcloud/credentials.json``, mode 0600); every
other command exchanges that API token for a short-lived access token at
``POST /v1/token`` and again whenever it has expired. All of them talk to the
one public base URL (the edge), never to a service directly.

Failures are sentences built from the platform's problem+json answers (title,
detail and each offending field), and the exit code is non-zero; no traceback.

The HTTP client of the public API is :mod:`client.api`, what the user sees
:mod:`client.output`, and each command group a module of :mod:`client.commands`.
"""

from __future__ import annotations

import typer

from client.commands.audit import audit_app
from client.commands.groups import groups_app
from client.commands.jobs import jobs_app
from client.commands.login import login, logout
from client.commands.policies import policies_app
from client.commands.printers import printers_app
from client.commands.printing import print_file
from client.commands.release import release
from client.commands.reservations import reservations_app
from client.commands.usage import usage_app
from client.commands.webhooks import webhooks_app
from client.output import friendly


def user_commands(app: typer.Typer) -> None:
    """Add the user commands to the ``printcloud`` app."""
    app.command("login")(friendly(login))
    app.command("logout")(logout)
    app.add_typer(printers_app, name="printers")
    app.command("print")(friendly(print_file))
    app.add_typer(jobs_app, name="jobs")
    app.command("release")(friendly(release))
    app.add_typer(reservations_app, name="reservations")
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(policies_app, name="policies")
    app.add_typer(groups_app, name="groups")
    app.add_typer(usage_app, name="usage")
    app.add_typer(audit_app, name="audit")
