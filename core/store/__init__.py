"""core/store: the region store, the app cache of an opened region (layout, writer, mapped reader, grid)."""
