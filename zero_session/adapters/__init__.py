"""Adapters that let other frameworks keep their state in zero_session.

Each lives in its own module behind an optional extra, imported only when used:
``zero_session.adapters.openai_agents`` (extra ``agents``).
"""
