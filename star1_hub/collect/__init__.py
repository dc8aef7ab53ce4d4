"""Stage 0 of STAR-41K: collect the training sources, deduplicate and decontaminate them, publish `collected`.

`sources` declares every source and test set, `source_loader` reads them (Hub, GitHub or local files) through one
parsing path, `dedup` and `decontaminate` run the paper's four-step pipeline (see `docs/curation.md`), `collect`
ties them together and publishes the result, and `cli` adds `star1 curate collect`.
"""
