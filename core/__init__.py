"""Terrafind's engine: open embeddings, index them, search by example, cut thumbnails, export.

No Qt here, ever: everything the app does can be done from a script, the CLI or a test.
"""
