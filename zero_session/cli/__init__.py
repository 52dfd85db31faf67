"""The ``zero-session`` command (optional extra ``cli``: click and rich).

Importing this package imports nothing else; ``zero_session.cli.main:main`` is the
console script.
"""
