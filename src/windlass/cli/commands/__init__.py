"""The CLI's commands, one module per area; ``windlass.cli.main`` mounts them."""
