"""The protocols between Printcloud and the programs outside it: the device websocket
(:mod:`~shared.protocols.device`), device onboarding (:mod:`~shared.protocols.onboarding`)
and a phone's login at a printer (:mod:`~shared.protocols.phone`). Both ends import them:
the gateway and the agent, the registry and the agent, auth and the ``printcloud phone``
client."""
