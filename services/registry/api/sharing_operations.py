"""The registry's sharing operations, part of
:data:`services.registry.api.operations.OPERATIONS`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from shared.http.operations import Operation
from shared.sharing import SharedWith

TAG = "printers"
_RULE = (
    "A printer is shared with its whole tenant until an administrator narrows it; then "
    "only the users named, and the members of the groups named (directly or through "
    "other groups), see it and print to it. Anyone else of the tenant who is not an "
    "administrator gets `404` for it everywhere: here, in listings, when submitting or "
    "releasing jobs, making reservations, and over IPP."
)


class PrinterSharing(BaseModel):
    """With whom a printer is shared."""

    printer_id: uuid.UUID
    shared_with: SharedWith
    revision: int = Field(ge=0, description="0 while never changed, +1 with each change.")


class VirtualPrinterSharing(BaseModel):
    """With whom a virtual printer is shared."""

    virtual_printer_id: uuid.UUID
    shared_with: SharedWith
    revision: int = Field(ge=0, description="0 while never changed, +1 with each change.")


def _pair(
    path: str, kind: str, event: str, answer: type[BaseModel], op_name: str
) -> tuple[Operation, ...]:
    return (
        Operation(
            "GET",
            path,
            f"With whom a {kind} is shared",
            TAG,
            {200: answer},
            errors=(401, 403, 404),
            operation_id=f"get{op_name}Sharing",
            description=f"Needs the `admin` role and `printers:read`. {_RULE}",
            descriptions={404: f"No such {kind}, or one of another tenant."},
        ),
        Operation(
            "PUT",
            path,
            f"Share a {kind} with users and groups (or the whole tenant)",
            TAG,
            {200: answer},
            body=SharedWith,
            errors=(400, 401, 403, 404, 413, 415, 422),
            operation_id=f"put{op_name}Sharing",
            description=f"Replaces the sharing; announces `{event}.sharing_changed` (the full "
            "sharing) when it changed. Groups must be groups of the tenant; users who are "
            "not users of the tenant never match. Needs the `admin` role and "
            f"`printers:write`. {_RULE} A job already held for someone the {kind} is no "
            "longer shared with stays held; releasing it is refused (`409`) and it expires "
            "as usual.",
            descriptions={
                200: "The sharing now.",
                404: f"No such {kind}, or one of another tenant.",
                422: "A field is not valid, or a group is not a group of the tenant "
                "(field `group_ids.<n>`).",
            },
            example={"tenant": False, "user_ids": [], "group_ids": [str(uuid.UUID(int=7))]},
        ),
    )


SHARING_OPERATIONS: tuple[Operation, ...] = (
    *_pair("/v1/printers/{printer_id}/sharing", "printer", "printer", PrinterSharing, "Printer"),
    *_pair(
        "/v1/virtual-printers/{virtual_printer_id}/sharing",
        "virtual printer",
        "virtual_printer",
        VirtualPrinterSharing,
        "VirtualPrinter",
    ),
)
