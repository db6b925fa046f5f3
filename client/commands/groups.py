"""``printcloud groups``: groups of users (and of other groups) in your tenant, which
printers are shared with (tenant administrators)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import Client, run
from client.output import friendly, new_table, out, print_json, print_table

groups_app = typer.Typer(
    help="Groups of users, to share printers with (tenant administrators).",
    no_args_is_help=True,
)
BASE = "/v1/groups"
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _show(group: dict[str, Any]) -> None:
    out.print(f"group {group['id']}  {group['name']}  ({group['source']}, rev {group['revision']})")
    out.print(f"  users: {', '.join(group['member_user_ids']) or '-'}")
    out.print(f"  groups: {', '.join(group['member_group_ids']) or '-'}")


def _done(group: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(group)
    else:
        _show(group)


@groups_app.command("create")
@friendly
def groups_create(
    name: Annotated[str, typer.Argument(help="the group's name (unique in the tenant)")],
    user: Annotated[list[str], typer.Option("--user", help="a member user's id (repeatable)")] = [],  # noqa: B006
    group: Annotated[
        list[str], typer.Option("--group", help="a member group's id (repeatable)")
    ] = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Create a group; its member groups' members are members too."""
    body = {"name": name, "member_user_ids": user, "member_group_ids": group}
    _done(run(lambda c: c.request("POST", BASE, json_body=body)), as_json)


@groups_app.command("list")
@friendly
def groups_list(as_json: JsonOption = False) -> None:
    """List the tenant's groups."""
    items = run(lambda c: c.pages(BASE))
    if as_json:
        print_json(items)
        return
    table = new_table("id", "name", "source", "users", "groups")
    for g in items:
        table.add_row(g["id"], g["name"], g["source"], str(len(g["member_user_ids"])),
                      str(len(g["member_group_ids"])))  # fmt: skip
    print_table(table)


@groups_app.command("show")
@friendly
def groups_show(
    group_id: Annotated[str, typer.Argument(help="the group's id")], as_json: JsonOption = False
) -> None:
    """Show a group and its direct members."""
    _done(run(lambda c: c.request("GET", f"{BASE}/{group_id}")), as_json)


async def _change_members(
    c: Client, group_id: str, users: list[str], groups: list[str], *, add: bool
) -> Any:
    """Read the group, change its member lists, and write them back at the revision read
    (a concurrent change makes the server refuse: 409 stale-group)."""
    current = await c.request("GET", f"{BASE}/{group_id}")

    def changed(now: list[str], given: list[str]) -> list[str]:
        return sorted(set(now) | set(given)) if add else [m for m in now if m not in given]

    body: dict[str, Any] = {"revision": current["revision"]}
    if users:
        body["member_user_ids"] = changed(current["member_user_ids"], users)
    if groups:
        body["member_group_ids"] = changed(current["member_group_ids"], groups)
    return await c.request("PATCH", f"{BASE}/{group_id}", json_body=body)


@groups_app.command("add")
@friendly
def groups_add(
    group_id: Annotated[str, typer.Argument(help="the group's id")],
    user: Annotated[list[str], typer.Option("--user", help="a user's id (repeatable)")] = [],  # noqa: B006
    group: Annotated[list[str], typer.Option("--group", help="a group's id (repeatable)")] = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Add users or groups to a group (a group cannot end up inside itself)."""
    _done(run(lambda c: _change_members(c, group_id, user, group, add=True)), as_json)


@groups_app.command("remove")
@friendly
def groups_remove(
    group_id: Annotated[str, typer.Argument(help="the group's id")],
    user: Annotated[list[str], typer.Option("--user", help="a user's id (repeatable)")] = [],  # noqa: B006
    group: Annotated[list[str], typer.Option("--group", help="a group's id (repeatable)")] = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Take users or groups out of a group."""
    _done(run(lambda c: _change_members(c, group_id, user, group, add=False)), as_json)


@groups_app.command("rename")
@friendly
def groups_rename(
    group_id: Annotated[str, typer.Argument(help="the group's id")],
    name: Annotated[str, typer.Argument(help="the new name")],
    as_json: JsonOption = False,
) -> None:
    """Rename a group."""
    body = {"name": name}
    _done(run(lambda c: c.request("PATCH", f"{BASE}/{group_id}", json_body=body)), as_json)


@groups_app.command("delete")
@friendly
def groups_delete(group_id: Annotated[str, typer.Argument(help="the group's id")]) -> None:
    """Delete a group (it leaves every group that held it)."""
    run(lambda c: c.request("DELETE", f"{BASE}/{group_id}"))
    out.print(f"group {group_id} deleted")
