"""Benchmarks on the medium demo city, run by scripts/bench.sh (make bench); see README.md."""
