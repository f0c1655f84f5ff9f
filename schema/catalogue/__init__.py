"""GraphQL of the catalogue: prefectures, materials, processes and certifications."""
