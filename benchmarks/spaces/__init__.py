"""Search-space codecs (architecture <-> integer codes <-> official index); numpy only, no torch."""
