"""nalu_lab: the book's experiments on top of ``nalu`` — the unit × operation grid of the benchmark
chapter (``grid``), the paper-scale runs (``scale``, ``make paper``) and the set-up of their worker
processes (``workers``). Imports ``nalu``; ``nalu`` never imports it."""
