"""python dataset_scripts/build_benign915.py --config dataset_scripts/benign915.yaml [--limit 20]

Build STAR-benign-915 (configs rewritten / reasoned / scored / default) from STAR-1: rewrite each harmful
question into a harmless look-alike, answer it without policies, score on the 1–5 rubric, keep all-5 rows.
"""

from __future__ import annotations

import argparse
import json
import logging

from star1_hub.curate.builds import build_benign915, load_build_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="build YAML (see dataset_scripts/benign915.yaml)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first K input rows (trial run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_build_config(args.config)
    if args.limit is not None:
        config["limit"] = args.limit
    print(json.dumps(build_benign915(config), indent=1))


if __name__ == "__main__":
    main()
