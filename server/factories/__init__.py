"""The factories domain: the registry (profiles, search, clusters), capabilities and weekly capacity."""
