"""A sharded region: many tiles, each indexed on its own, opened and searched as one region.

A region folder holds ``region.json`` (the manifest: every shard's files, their identity and hash, its
rows, box, date and index) and ``shards/<name>/``, one search index per shard in the index cache's own
layout. Shards are built independently (:func:`terrafind.core.shards.build.build_shard`: in this process,
or one per task on a Dask cluster, :mod:`terrafind.core.cluster`), so adding next year's tiles or a
neighbouring tile adds shards and never rebuilds the others; a rerun skips every shard whose inputs and
index still match the hashes in the manifest.

Opening (:func:`terrafind.core.shards.open.open_sharded`, reached through
:func:`terrafind.core.session.open_data`): the shards' chips become one catalog (one per date when the
tiles are of several dates) and searches use a :class:`terrafind.core.shards.index.ShardedIndex`, which
asks every shard's index for the top k and merges them by score: a hit of the whole region is the best of
its shard, so the merged top k is the top k of one index over all chips, within each index's recall.
"""
