"""The HTTP API: ``app.create_app`` is its composition root, ``endpoints`` holds one module per
resource, and ``server`` runs it inside the sidecar."""
