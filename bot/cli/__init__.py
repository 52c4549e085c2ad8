"""Sub-commands of ``python -m bot``. Each module here defines ``add_commands(subparsers)``; every sub-parser
sets ``handler=callable(args, settings) -> int``. New modules are picked up without editing ``__main__``."""
