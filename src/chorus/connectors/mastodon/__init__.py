"""Mastodon: OAuth against any instance, statuses with media, polls and threads.

A small Django app (label "mastodon") only for the per-instance OAuth app registrations.
"""
