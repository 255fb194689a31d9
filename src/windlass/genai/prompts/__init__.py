"""The prompt registry: versioned templates bound to model settings, files, the SDK."""
