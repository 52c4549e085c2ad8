"""The Zalo Official Account channel: webhook, event parsing, sender, rendering and token management.

Modules: :mod:`.models` (token and event tables), :mod:`.tokens` (access/refresh tokens kept in the database,
refreshed by one process at a time), :mod:`.api` (the OA API client, rendering and :class:`~.api.ZaloSender`),
:mod:`.webhook` (signature check and event parsing) and :mod:`.channel` (events → handlers → replies).
This file imports nothing so the migrations can load :mod:`.models` without the HTTP stack.
"""
