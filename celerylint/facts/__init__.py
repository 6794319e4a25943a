"""The per-file pass: facts (model.py) extracted by one parse, ast first (ast_extract.py)
and libcst for syntax newer than the running interpreter (extract.py, also the reference
the ast extractor is checked against: oracle.py), the byte prefilter that decides which
files need it (prefilter.py), and positions (spans.py)."""
