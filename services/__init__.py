"""Printcloud's services, one package each.

Every service imports ``shared`` only, never another service. The table of the
deployable services and the code that knows all of them (platform runner,
manifest generators, API documents, operator CLI) live in :mod:`deploy`.
"""
