"""python dataset_scripts/build_star1.py --config dataset_scripts/star1.yaml [--limit 20]

Build STAR-41K (configs classified / reasoned / scored) and STAR-1 (configs filtered / default) from the
collected prompts named in the YAML, with the classifier, teacher and judge endpoints it gives.
"""

from __future__ import annotations

import argparse
import json
import logging

from star1_hub.curate.builds import build_star1, load_build_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="build YAML (see dataset_scripts/star1.yaml)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first K input rows (trial run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_build_config(args.config)
    if args.limit is not None:
        config["limit"] = args.limit
    print(json.dumps(build_star1(config), indent=1))


if __name__ == "__main__":
    main()
