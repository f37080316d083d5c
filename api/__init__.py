"""flopex application layer: the Litestar HTTP API, its settings and the ``flopex`` CLI."""
