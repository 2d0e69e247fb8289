"""Reference data (countries, later visa lists, refusal reasons, crossing points) with loaders."""
