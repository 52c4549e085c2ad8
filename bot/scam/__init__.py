""" "Is this a scam?": check a received message or link and say how dangerous it looks, and why.

- :mod:`bot.scam.links`: de-obfuscation, link extraction, real domains (punycode, look-alike letters);
- :mod:`bot.scam.check`: named signals from links and wording, and the level;
- :mod:`bot.scam.trigger`: whether a typed text is a received message rather than a question;
- :mod:`bot.scam.advice`: the closest scam entries of the knowledge base;
- :mod:`bot.scam.config`: official domains, brands, exceptions and block list (``_scam.yaml``);
- :mod:`bot.scam.text`: accent folding and masking of codes and numbers.

The package is pure (no database, no channel, no network) so the command line starts fast.
"""

from bot.scam.check import Level, Signal, Verdict, analyze
from bot.scam.config import DEFAULT_CONFIG, ScamConfig
from bot.scam.text import mask
from bot.scam.trigger import looks_like_message

__all__ = ["DEFAULT_CONFIG", "Level", "ScamConfig", "Signal", "Verdict", "analyze", "looks_like_message", "mask"]
