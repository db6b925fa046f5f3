"""The registry's public HTTP operations and the shapes of its answers.

``docs/openapi.yaml`` is generated from :data:`OPERATIONS` (``printcloud openapi
write``); a test checks that they are exactly the routes of ``routes.py``.
"""

from __future__ import annotations

from services.registry.api.shapes import (
    CapabilitiesQuery,
    ClaimedDevice,
    CommandOutcome,
    CommandQueued,
    Connector,
    Page,
    PendingCommands,
    Printer,
    PrinterCapabilities,
    PrinterList,
    PrinterPage,
    Registration,
    Tenant,
    TenantList,
    VirtualPrinterList,
    VirtualPrinterWithCapabilities,
)
from services.registry.domain.commands import (
    AssignConnectorDevices,
    ClaimDevice,
    CreateTenant,
    CreateVirtualPrinter,
    IssueCommand,
    RedeemRegistration,
    RegisterPrinter,
    RelaySheet,
    StartRegistration,
    UpdatePrinter,
    UpdateVirtualPrinter,
)
from shared.http.operations import Operation

BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
READ_ERRORS = (401, 404)


TAGS = {
    "tenants": "Organisations using Printcloud.",
    "printers": "Printers of a tenant and the capabilities they report.",
    "virtual-printers": "Shared pull-print queues over some of a tenant's printers.",
    "onboarding": "Devices joining: online registration with a claim code, or a relayed sheet.",
    "connectors": "Connectors, which bridge printers that cannot connect themselves.",
    "devices": "Commands for printers and connectors.",
}

_NOT_A_PRINTER = (
    "No such printer for this caller: the id is not a UUID, the printer belongs to another "
    "tenant, or it does not exist (`not-found` or `printer-not-found`)."
)
_ADMIN = "The caller does not have the `admin` role or the `printers:write` scope (`forbidden`)."
_QUERY = "A query parameter is invalid or unknown (`validation-failed`)."

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/v1/tenants",
        "Create a tenant (operators only)",
        "tenants",
        {201: Tenant},
        body=CreateTenant,
        errors=(400, 401, 403, 409, 413, 415, 422),
        operation_id="createTenant",
        description="Creates a tenant and publishes `tenant.created`. Tenant names are unique "
        "regardless of letter case.",
        descriptions={
            201: "The tenant was created.",
            403: "The caller is not a platform operator (`forbidden`).",
            409: "A tenant with this name exists (`duplicate-name`, field `name`).",
        },
        response_headers={201: {"Location": "Path of the new tenant, `/v1/tenants/{id}`."}},
        example={"name": "Acme Corporation"},
    ),
    Operation(
        "GET",
        "/v1/tenants",
        "List tenants (operators only)",
        "tenants",
        {200: TenantList},
        query=Page,
        errors=(401, 403, 422),
        operation_id="listTenants",
        descriptions={403: "The caller is not a platform operator (`forbidden`).", 422: _QUERY},
    ),
    Operation(
        "GET",
        "/v1/tenants/{tenant_id}",
        "Read a tenant",
        "tenants",
        {200: Tenant},
        errors=READ_ERRORS,
        operation_id="getTenant",
        description="Operators may read any tenant; other callers only their own.",
        descriptions={
            404: "No such tenant for this caller: the id is not a UUID, belongs to another "
            "tenant, or does not exist (`not-found` or `tenant-not-found`)."
        },
    ),
    Operation(
        "POST",
        "/v1/printers",
        "Register a printer",
        "printers",
        {201: Printer},
        body=RegisterPrinter,
        errors=BODY_ERRORS,
        operation_id="registerPrinter",
        description="""\
Adds a printer to a tenant and publishes `printer.registered`. The printer starts with
`revision` 1 and `connection_state` `unknown`. Printer names are unique within a tenant
regardless of letter case. (Printers that connect themselves are usually added by
onboarding instead: `POST /v1/registrations/claim`.)

Operators must name the tenant in `tenant_id` (`422` otherwise). Tenant administrators may
omit it (their own tenant is used); naming another tenant is answered exactly like naming
one that does not exist (`404`). Requires the `admin` role and the `printers:write` scope.""",
        descriptions={
            201: "The printer was registered.",
            403: _ADMIN,
            404: "The tenant does not exist or belongs to someone else (`tenant-not-found`, "
            "field `tenant_id`, reason `unknown tenant`).",
            409: "The tenant has a printer with this name (`duplicate-name`, field `name`).",
        },
        response_headers={201: {"Location": "Path of the new printer, `/v1/printers/{id}`."}},
        example={
            "tenant_id": "3f6c2a4e-9d1b-4c55-8a0e-2b7f1d9e6c3a",
            "name": "Lobby",
            "model": "LaserJet 9",
            "region": "eu-west",
            "location": "Floor 2, next to the lifts",
        },
    ),
    Operation(
        "GET",
        "/v1/printers",
        "List printers",
        "printers",
        {200: PrinterList},
        query=PrinterPage,
        errors=(401, 403, 404, 422),
        operation_id="listPrinters",
        description="Tenant members see their own tenant's printers (a `tenant_id` other than "
        "their own is answered `404`, as an unknown tenant). Operators see every printer, or "
        "one tenant's with `tenant_id`. Needs the `printers:read` scope.",
        descriptions={
            403: "The credential is bound to no tenant, or lacks `printers:read` (`forbidden`).",
            404: "A tenant member named another tenant in `tenant_id` (`tenant-not-found`).",
            422: _QUERY,
        },
    ),
    Operation(
        "GET",
        "/v1/printers/{printer_id}",
        "Read a printer",
        "printers",
        {200: Printer},
        errors=READ_ERRORS,
        operation_id="getPrinter",
        descriptions={404: _NOT_A_PRINTER},
    ),
    Operation(
        "PATCH",
        "/v1/printers/{printer_id}",
        "Change a printer's attributes",
        "printers",
        {200: Printer},
        body=UpdatePrinter,
        errors=BODY_ERRORS,
        operation_id="updatePrinter",
        description="""\
Partial update. Fields that are absent stay as they are; `location: null` clears the
location; `name`, `model` and `region` cannot be cleared (sending `null` for one of them
is answered `422`, reason `may not be null`).

When something really changed, `revision` increases by one and `printer.updated` is
published with the full new state and the names of the changed fields. When nothing
changed (including an empty object), the printer is returned as it is and no event is
published. Requires the `admin` role and the `printers:write` scope.""",
        descriptions={
            200: "The printer after the update.",
            403: _ADMIN,
            404: _NOT_A_PRINTER,
            409: "The tenant has another printer with the new name (`duplicate-name`, field "
            "`name`).",
            422: "The body does not match the schema, or it sets `name`, `model` or `region` "
            "to `null` (`validation-failed`, each field named in `errors`).",
        },
        example={"name": "Hall", "location": None},
    ),
    Operation(
        "GET",
        "/v1/printers/{printer_id}/capabilities",
        "Read a printer's capabilities",
        "printers",
        {200: PrinterCapabilities},
        query=CapabilitiesQuery,
        errors=(401, 404, 422),
        operation_id="getPrinterCapabilities",
        description="""\
What the printer itself reported, in IPP's vocabulary: media, media types, trays and
output bins, sides, colour modes, resolutions, document formats, finishings and the
copies range. A report that differs from the current one becomes a new version (and a
`printer.capabilities_changed` event); `version` reads an older one. Print dialogs (and
`printcloud printers capabilities`) build their choices from this.""",
        descriptions={
            200: "The current (or requested) capabilities version.",
            404: "No such printer for this caller (`printer-not-found`), or it has not reported "
            "capabilities yet / has no such version (`capabilities-not-found`).",
            422: "`version` is not a positive integer (`validation-failed`).",
        },
    ),
    Operation(
        "POST",
        "/v1/virtual-printers",
        "Create a virtual printer",
        "virtual-printers",
        {201: VirtualPrinterWithCapabilities},
        body=CreateVirtualPrinter,
        errors=BODY_ERRORS,
        operation_id="createVirtualPrinter",
        description="A virtual printer is a shared pull-print queue: jobs sent to it wait until "
        "their owner releases them at one of its member printers. Members must be printers of "
        "the same tenant; another tenant's printer is refused exactly like a missing one. "
        "Publishes `virtual_printer.created`. Requires the `admin` role.",
        descriptions={
            201: "The virtual printer was created.",
            404: "The tenant does not exist or belongs to someone else (`tenant-not-found`).",
            409: "The tenant has a virtual printer with this name (`duplicate-name`).",
            422: "Invalid input, or members that are not printers of the tenant "
            "(`validation-failed`, fields `members.<index>`, reason `unknown printer`).",
        },
        response_headers={201: {"Location": "Path of the new virtual printer."}},
        example={"name": "Floor 2", "members": ["9a1d7c2e-4b3f-4e8a-b6d5-0c2f8e7a1b94"]},
    ),
    Operation(
        "GET",
        "/v1/virtual-printers",
        "List virtual printers",
        "virtual-printers",
        {200: VirtualPrinterList},
        query=PrinterPage,
        errors=(401, 403, 404, 422),
        operation_id="listVirtualPrinters",
        descriptions={422: _QUERY},
    ),
    Operation(
        "GET",
        "/v1/virtual-printers/{virtual_printer_id}",
        "Read a virtual printer and its effective capabilities",
        "virtual-printers",
        {200: VirtualPrinterWithCapabilities},
        errors=READ_ERRORS,
        operation_id="getVirtualPrinter",
        description="`effective_capabilities` is what every member supports (the intersection "
        "of the members' current capabilities). Members that have not reported capabilities "
        "yet are listed in `members_without_capabilities` and left out of the intersection.",
        descriptions={
            404: "No such virtual printer for this caller (`virtual-printer-not-found`)."
        },
    ),
    Operation(
        "PATCH",
        "/v1/virtual-printers/{virtual_printer_id}",
        "Rename a virtual printer or replace its members",
        "virtual-printers",
        {200: VirtualPrinterWithCapabilities},
        body=UpdateVirtualPrinter,
        errors=BODY_ERRORS,
        operation_id="updateVirtualPrinter",
        description="Absent fields stay as they are; `members` replaces the whole list. "
        "Publishes `virtual_printer.updated` when something changed. Requires the `admin` role.",
        descriptions={
            200: "The virtual printer after the change.",
            404: "No such virtual printer for this caller (`virtual-printer-not-found`).",
        },
    ),
    Operation(
        "POST",
        "/v1/registrations",
        "A device asks to join (no credentials yet)",
        "onboarding",
        {201: Registration, 200: Registration},
        body=StartRegistration,
        errors=(400, 409, 413, 415, 422, 429),
        public=True,
        operation_id="startRegistration",
        description="A printer or connector posts its public key (Ed25519 or ECDSA P-256, PEM "
        "or base64url) and model, and gets a short claim code and a claim URL to show its "
        "administrator. Asking again with the same key returns the same pending registration "
        "(`200`), with a fresh code once the old one expired. Needs no token; attempts are "
        "limited per source address.",
        descriptions={
            201: "A new registration.",
            200: "The key's existing pending registration.",
            409: "The key is already claimed (`device-already-claimed`).",
        },
        response_headers={
            201: {"Location": "Path of the registration (the device polls it)."},
            200: {"Location": "Path of the registration (the device polls it)."},
        },
    ),
    Operation(
        "GET",
        "/v1/registrations/{registration_id}",
        "The device reads its registration (and, once claimed, its identity)",
        "onboarding",
        {200: Registration},
        errors=(401, 404),
        public=True,
        operation_id="pollRegistration",
        description="""\
Only the device can read its registration: it signs
`"printcloud-registration-poll\\n" + registration_id + "\\n" + timestamp` (Unix seconds)
with its private key (Ed25519, or ECDSA P-256 with SHA-256 as raw r||s) and sends the
timestamp and the base64url signature in headers. Timestamps must be within two minutes
of the server's clock and increase from one poll to the next, so a captured poll cannot
be replayed.""",
        headers={
            "X-Printcloud-Timestamp": "Unix seconds, signed with the registration id.",
            "X-Printcloud-Signature": "base64url signature by the device's key.",
        },
        descriptions={
            200: "The registration; `device_id` and `tenant_id` once claimed.",
            401: "Missing, stale, replayed or wrong signature.",
            404: "No such registration (`registration-not-found`).",
        },
    ),
    Operation(
        "POST",
        "/v1/registrations/claim",
        "Claim a waiting device for a tenant by its code",
        "onboarding",
        {201: ClaimedDevice},
        body=ClaimDevice,
        errors=(*BODY_ERRORS, 410, 429),
        operation_id="claimDevice",
        description="Creates the printer (or connector) in the tenant, binds the device's key "
        "to it and publishes `printer.registered` (or `connector.registered`) and "
        "`device.claimed`. Codes are case-insensitive; spaces and dashes are ignored. Failed "
        "attempts are limited per tenant. Requires the `admin` role.",
        descriptions={
            201: "The device was claimed.",
            404: "No device waits with this code (`claim-code-not-found`), or the tenant is "
            "unknown.",
            409: "The name is taken in the tenant (`duplicate-name`).",
            410: "The code expired (`claim-code-expired`); restart registration on the device.",
        },
        response_headers={201: {"Location": "Path of the new printer or connector."}},
        example={"claim_code": "ABCD-EFGH", "name": "Lobby", "region": "eu-west"},
    ),
    Operation(
        "POST",
        "/v1/registrations/relay",
        "Claim a device from its registration sheet (the device may be offline)",
        "onboarding",
        {201: ClaimedDevice, 200: ClaimedDevice},
        body=RelaySheet,
        errors=BODY_ERRORS,
        operation_id="relaySheet",
        description="A device that cannot reach the cloud prints or shows a registration "
        "sheet; its QR code holds `printcloud:register?v=2&kind=…&model=…&code=…&fp=…&key=…"
        "&url=…&ts=…&sig=…`: the device's public key, a claim code, the cloud it was told to "
        "join and the signature of all of it by the device's key (`v=1` sheets carry no "
        "`url`, `ts` or `sig`). Relaying it claims the device for the tenant; the device "
        "collects its identity with `POST /v1/registrations/redeem` when it reaches the "
        "cloud, or is recognised by its key when it connects. A sheet whose key does not "
        "match its fingerprint (`sheet.fp`) or whose signature is not the key's (`sheet.sig`) "
        "was altered and is refused (`422`). A device waiting online with another code is "
        "claimed only with a signed sheet. Relaying the same sheet again for the same tenant "
        "answers the same device (`200`). Also `printcloud phone relay`. Requires the "
        "`admin` role.",
        descriptions={
            201: "The device was claimed.",
            200: "This sheet had claimed the device for this tenant already.",
            409: "The device is already claimed (`device-already-claimed`) or the name is taken.",
        },
        response_headers={
            201: {"Location": "Path of the new printer or connector."},
            200: {"Location": "Path of the printer or connector."},
        },
    ),
    Operation(
        "POST",
        "/v1/registrations/redeem",
        "A device claimed from its sheet collects its identity",
        "onboarding",
        {200: Registration},
        body=RedeemRegistration,
        errors=(400, 401, 404, 413, 415, 422),
        public=True,
        operation_id="redeemRegistration",
        description="""\
A device whose registration sheet was relayed while it could not reach the cloud posts
its public key and proves it holds the private key: it signs
`"printcloud-registration-redeem\\n" + fingerprint + "\\n" + timestamp` (Unix seconds,
the fingerprint as lowercase hex SHA-256 of the key's SPKI DER) and sends the timestamp
and the base64url signature in headers. Timestamps must be within two minutes of the
server's clock and increase from one request to the next. The answer is the claimed
registration with `device_id`, `tenant_id`, `gateway_url` and `api_url`.""",
        headers={
            "X-Printcloud-Timestamp": "Unix seconds, signed with the key's fingerprint.",
            "X-Printcloud-Signature": "base64url signature by the device's key.",
        },
        descriptions={
            200: "The claimed registration.",
            401: "Missing, stale, replayed or wrong signature.",
            404: "No claimed device has this key (`registration-not-found`): not relayed "
            "yet, or waiting online (then `POST /v1/registrations`).",
        },
    ),
    Operation(
        "GET",
        "/v1/connectors/{connector_id}",
        "A connector and the printers it is responsible for",
        "connectors",
        {200: Connector},
        errors=READ_ERRORS,
        operation_id="getConnector",
        descriptions={404: "No such connector for this caller (`connector-not-found`)."},
    ),
    Operation(
        "PUT",
        "/v1/connectors/{connector_id}/devices",
        "Set the printers a connector bridges",
        "connectors",
        {200: Connector},
        body=AssignConnectorDevices,
        errors=BODY_ERRORS,
        operation_id="assignConnectorDevices",
        description="Replaces the whole list. Each printer must belong to the connector's "
        "tenant and be bridged by no other connector. Publishes `connector.devices_changed`. "
        "Requires the `admin` role.",
        descriptions={
            200: "The connector after the change.",
            409: "A printer is already bridged by another connector.",
            422: "Printers listed twice or not of the tenant (fields `devices.<i>.printer_id`).",
        },
    ),
    Operation(
        "POST",
        "/v1/devices/{device_id}/commands",
        "Queue a command for a printer or connector",
        "devices",
        {202: CommandQueued},
        body=IssueCommand,
        errors=(400, 401, 403, 404, 413, 415, 422),
        operation_id="issueDeviceCommand",
        description="The command is recorded in the device command ledger and published as "
        "`device.command_issued`; the gateway delivers it to the device now if it is "
        "connected, and again on every new connection until the device acknowledges it. A "
        "printer bridged by a connector gets its commands through that connector "
        "(`target_device_id` names the printer). Requires the `admin` role.",
        descriptions={
            202: "Queued.",
            404: "No such printer or connector for this caller (`device-not-found`).",
        },
        example={"name": "identify", "payload": {}},
    ),
    Operation(
        "GET",
        "/v1/devices/{device_id}/commands",
        "Commands the device has not acknowledged yet",
        "devices",
        {200: PendingCommands},
        errors=READ_ERRORS,
        operation_id="pendingDeviceCommands",
        description="What the gateway sends a device when it connects, oldest first. For a "
        "connector this includes the commands for the printers it bridges.",
        descriptions={404: "No such printer or connector for this caller (`device-not-found`)."},
    ),
    Operation(
        "GET",
        "/v1/devices/{device_id}/commands/{command_id}",
        "A command and its outcome",
        "devices",
        {200: CommandOutcome},
        errors=READ_ERRORS,
        operation_id="getDeviceCommand",
        description="What became of a command: `pending` until the device acknowledges it, "
        "then `done`, `failed` or `rejected` with the device's detail. `device_id` is the "
        "device the command was issued for, or the connector that carries it. A connector "
        "keeps a command for a printer it cannot reach pending until the printer answers.",
        descriptions={404: "No such command for this device and caller (`command-not-found`)."},
    ),
)
