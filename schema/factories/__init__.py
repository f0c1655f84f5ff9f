"""GraphQL of the factories domain: factory registry and clusters, capabilities and capacity."""
