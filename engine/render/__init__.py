"""Stage 8, render: dry-run listings, graphs and reports (text, JSON, dot, mermaid, HTML)."""
