"""GraphQL of the factories domain: factory registry, capabilities and capacity."""
