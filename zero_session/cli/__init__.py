"""The ``zero-session`` command."""
