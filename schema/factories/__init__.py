"""GraphQL of the factories domain: taxonomy, factory registry, capabilities and capacity."""
