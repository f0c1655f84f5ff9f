"""The factories domain: the registry (profiles, search), capabilities and weekly capacity."""
