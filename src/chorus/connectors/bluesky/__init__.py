"""Bluesky (AT Protocol): app-password sessions, client-chosen record keys, facets, threads."""
