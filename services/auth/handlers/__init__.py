"""Auth's handlers, one module per area: users, API tokens and access tokens, devices
(credentials, device tokens, login challenges), phone keys and phone logins. Each opens
one unit of work (``shared.db.uow``): load via the repository, decide with the domain,
save and announce together."""
