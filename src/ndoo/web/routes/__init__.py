"""The web service's routes, one module per area; each module's ``router`` is included."""
