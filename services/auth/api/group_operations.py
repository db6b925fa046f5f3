"""Auth's group operations, part of :data:`services.auth.api.operations.OPERATIONS`."""

from __future__ import annotations

from services.auth.api.shapes import Group, GroupList, GroupPage
from services.auth.domain.commands import CreateGroup, UpdateGroup
from shared.http.operations import Operation

BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
READ_ERRORS = (401, 403, 404)
TAG = "auth"
_NO_GROUP = "No such group, or one of another tenant (`group-not-found`)."
_BAD_MEMBERS = (
    "Invalid input (each field named), or members that are not users or groups of the "
    "tenant (field `member_user_ids` / `member_group_ids`), or a group that contains this "
    "group directly or through other groups (field `member_group_ids`: a group cannot "
    "contain itself)."
)

GROUP_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/v1/groups",
        "Create a group",
        TAG,
        {201: Group},
        body=CreateGroup,
        errors=BODY_ERRORS,
        operation_id="createGroup",
        description="A group holds users and other groups of the same tenant; a member of a "
        "member group is a member too. Printers and virtual printers are shared with groups "
        "(`PUT /v1/printers/{printer_id}/sharing`). Publishes `group.created` on "
        "`auth.groups`. Tenant administrators (`users:write`) create groups in their own "
        "tenant; operators name `tenant_id`.",
        descriptions={
            201: "The group was created.",
            404: "Another tenant was named (`tenant-not-found`, field `tenant_id`).",
            409: "The tenant has a group of this name (`duplicate-group-name`, field `name`).",
            422: _BAD_MEMBERS,
        },
        response_headers={201: {"Location": "Path of the new group, `/v1/groups/{id}`."}},
        example={
            "name": "Finance",
            "member_user_ids": ["5b0c7d3e-1f2a-4b6c-9d8e-7f6a5b4c3d2e"],
            "member_group_ids": [],
        },
    ),
    Operation(
        "GET",
        "/v1/groups",
        "List groups",
        TAG,
        {200: GroupList},
        query=GroupPage,
        errors=(401, 403, 404, 422),
        operation_id="listGroups",
        description="Tenant administrators (`users:read`) see their tenant's groups, in id "
        "order; operators every group, or one tenant's with `tenant_id`.",
        descriptions={404: "Another tenant was named (`tenant-not-found`)."},
    ),
    Operation(
        "GET",
        "/v1/groups/{group_id}",
        "Read a group",
        TAG,
        {200: Group},
        errors=READ_ERRORS,
        operation_id="getGroup",
        description="Needs the `admin` role and `users:read`.",
        descriptions={404: _NO_GROUP},
    ),
    Operation(
        "PATCH",
        "/v1/groups/{group_id}",
        "Change a group",
        TAG,
        {200: Group},
        body=UpdateGroup,
        errors=BODY_ERRORS,
        operation_id="updateGroup",
        description="Only the fields sent change; a member list sent replaces the old one. "
        "Send the `revision` you read to make the change only if nobody changed the group "
        "since (`printcloud groups add` does). Publishes `group.updated` with the full new "
        "state when something changed. The users of a group filled from the identity "
        "provider (`source` `identity_provider`) are set at each sign-in and cannot be "
        "changed here. Needs the `admin` role and `users:write`.",
        descriptions={
            200: "The group after the change.",
            404: _NO_GROUP,
            409: "The name is taken (`duplicate-group-name`), or `revision` is not the "
            "current one (`stale-group`).",
            422: _BAD_MEMBERS,
        },
        example={"member_group_ids": ["9a1e2b3c-4d5e-4f60-8a7b-6c5d4e3f2a1b"], "revision": 3},
    ),
    Operation(
        "DELETE",
        "/v1/groups/{group_id}",
        "Delete a group",
        TAG,
        {204: "The group is gone."},
        errors=READ_ERRORS,
        operation_id="deleteGroup",
        description="The group leaves every group that held it (`group.updated` for each), "
        "then `group.deleted`. Printers shared with it are no longer shared with its members "
        "through it. Needs the `admin` role and `users:write`.",
        descriptions={404: _NO_GROUP},
    ),
)
