"""Conversation handlers: plain :class:`bot.messages.IncomingMessage` in, a list of replies out.

``handlers.routes.handle`` is the single entry point every channel calls.
"""
