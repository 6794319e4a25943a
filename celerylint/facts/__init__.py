"""The per-file pass: facts (model.py) extracted by one libcst parse (extract.py), the byte
prefilter that decides which files need it (prefilter.py), and positions (spans.py)."""
