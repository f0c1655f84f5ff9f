"""The catalogue: prefectures, materials, processes and certifications that every domain refers to by code."""
