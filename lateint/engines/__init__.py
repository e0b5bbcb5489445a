"""Bridges from lateint's in-memory indexes to existing search engines that scale past one machine.

Each bridge is an optional extra, so the core install stays light:

- :mod:`lateint.engines.qdrant` (``pip install "lateint[qdrant]"``): Qdrant's multi-vector
  collections compare token vectors with MaxSim, in-process (``qdrant-client`` local mode or
  Qdrant Edge) or on a Qdrant server or cluster. Lesson 08 walks through the switch.
"""
