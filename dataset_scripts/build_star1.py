"""python dataset_scripts/build_star1.py --config dataset_scripts/star1.yaml [--limit 20]

Build STAR-41K (configs classified / reasoned / scored) and STAR-1 (configs filtered / default) from the
collected prompts named in the YAML, with the classifier, teacher and judge endpoints it gives.
"""

from __future__ import annotations

from star1_hub.curate.builds import build_script_main, build_star1

if __name__ == "__main__":
    build_script_main(build_star1, __doc__.splitlines()[0])
