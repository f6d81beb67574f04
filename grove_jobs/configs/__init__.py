"""The config aggregate: storage, queries, file transfer and the revision trail."""
