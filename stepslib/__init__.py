"""Step libraries of metainformant-flow: one package per namespace (``core``, ``rna``, ...)."""
