"""CLI commands, one module each (``add_parser(sub)`` sets ``func`` on its parser)."""
