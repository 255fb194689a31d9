"""The domain core of every versioned object: versions, aliases and their recorded moves.

Models and prompts (and next datasets and evaluation suites) are built on
:class:`~windlass.versioning.objects.VersionedObjects`; each kind's registry adds only
what is its own (a model's files and lineage, a prompt's template and rendering).
"""
