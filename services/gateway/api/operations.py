"""The gateway's public HTTP operation: the devices' websocket.

Its frames are described in ``docs/protocol.md`` and ``docs/asyncapi.yaml``; the
OpenAPI document only names the endpoint (see :mod:`deploy.apidocs.openapi`).
"""

from __future__ import annotations

from shared.http.operations import Operation

TAGS = {"gateway": "The websocket printers and connectors hold to the platform."}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/v1/devices/ws",
        "A device's websocket",
        "gateway",
        {},
        errors=(400,),
        public=True,
        websocket=True,
        operation_id="deviceWebsocket",
        description="A printer or connector opens this websocket and proves who it is inside "
        "the protocol (a `hello` signed by its key; no bearer token). The platform sends "
        "commands and work notifications over it; the device reports presence, telemetry and "
        "job status. Frames: `docs/protocol.md` and `docs/asyncapi.yaml`. Through the edge "
        "the websocket is passed on frame by frame, close codes included.",
        descriptions={
            101: "The websocket is open.",
            400: "Not a websocket upgrade (`bad-request`).",
        },
        media_types={},
    ),
)
