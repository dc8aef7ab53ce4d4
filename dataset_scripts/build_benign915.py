"""python dataset_scripts/build_benign915.py --config dataset_scripts/benign915.yaml [--limit 20]

Build STAR-benign-915 (configs rewritten / reasoned / scored / default) from STAR-1: rewrite each harmful
question into a harmless look-alike, answer it without policies, score on the 1–5 rubric, keep all-5 rows.
"""

from __future__ import annotations

from star1_hub.curate.builds import build_benign915, build_script_main

if __name__ == "__main__":
    build_script_main(build_benign915, __doc__.splitlines()[0])
