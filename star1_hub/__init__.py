"""star1-hub: a Hugging Face Hub-native toolkit that reproduces STAR-1 end to end.

Heavy libraries (torch, transformers, datasets, huggingface_hub) are imported lazily by the modules
that need them, so `import star1_hub` stays cheap and never fixes the Hub endpoint before a caller
has exported its environment.
"""

__version__ = "0.1.0"
