"""nalu_bench: the throughput benchmark (``make bench``, ``python -m nalu_bench.speed``) and the speed
appendix's side-by-side comparisons. Imports ``nalu`` and ``nalu_lab``; nothing imports it but the
speed appendix."""
