"""The web chat channel: an embeddable widget for the ward's portal, its chat API and its outbound queue.

``GET /widget.js`` (one line to embed), ``GET /widget.css``, ``GET /demo`` for staff, and the chat API under
``/webchat/api/``. Replies are queued per visitor with increasing ids; the widget fetches what follows the last
id it has shown, so a reply that arrives while the page reloads is shown after the reload.
"""
