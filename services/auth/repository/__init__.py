"""SQL for the auth service's own schema: one class per table family, built on a
connection, returning domain objects; :class:`AuthRepository` bundles them for a unit of
work (``shared.db.uow``)."""

from __future__ import annotations

import asyncpg

from services.auth.repository.devices import ConnectorPrinters, DeviceCredentials
from services.auth.repository.e2e import E2EKeys
from services.auth.repository.identity import IdentityProviders, UserIdentities
from services.auth.repository.passkeys import PasskeyChallenges, Passkeys
from services.auth.repository.phone import LoginChallenges, PhoneKeys
from services.auth.repository.signing_keys import SigningKeys
from services.auth.repository.tokens import ApiTokens
from services.auth.repository.users import Users


class AuthRepository:
    """Every table of auth's schema, on one connection (one transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.users = Users(conn)
        self.tokens = ApiTokens(conn)
        self.signing_keys = SigningKeys(conn)
        self.credentials = DeviceCredentials(conn)
        self.connectors = ConnectorPrinters(conn)
        self.phone_keys = PhoneKeys(conn)
        self.challenges = LoginChallenges(conn)
        self.passkeys = Passkeys(conn)
        self.passkey_challenges = PasskeyChallenges(conn)
        self.identity_providers = IdentityProviders(conn)
        self.identities = UserIdentities(conn)
        self.e2e_keys = E2EKeys(conn)


__all__ = [
    "ApiTokens",
    "AuthRepository",
    "ConnectorPrinters",
    "DeviceCredentials",
    "E2EKeys",
    "IdentityProviders",
    "LoginChallenges",
    "PasskeyChallenges",
    "Passkeys",
    "PhoneKeys",
    "SigningKeys",
    "UserIdentities",
    "Users",
]
