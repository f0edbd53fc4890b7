"""nalu_book: what the book's notebooks share — the mode banner, plotting style and generated prose
(``book``), the schema chapters save their figures and findings in and the conclusions' claims
table (``results``). Imports ``nalu`` and ``nalu_lab``; ``nalu`` never imports it."""
