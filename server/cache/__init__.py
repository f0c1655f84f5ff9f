"""The response cache of registry reads (issue 11): repeated queries of factories and the catalogue are
answered from memory, keyed by document, variables and the caller's visibility class, and dropped on every
committed write to the registry, in every process (LISTEN/NOTIFY plus a generation counter read per request).

``documents`` decides which queries qualify, ``generation`` follows the registry's writes, ``store`` holds
the answers, ``middleware`` puts them together in front of ``/graphql``. Why this mechanism:
docs/decisions.md, "Response cache".
"""
