"""The ``windlass`` command line: Typer commands that parse, call one domain function, render."""
