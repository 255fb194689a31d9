"""Models: the packaging format, flavors, safe loading, the registry and autolog."""
