"""The factories domain: taxonomy, factory registry, capabilities and weekly capacity."""
