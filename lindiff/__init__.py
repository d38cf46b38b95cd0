"""lindiff: the library behind the book *Linear diffusion models, memorization and generalization*.

Small modules, one per piece of theory; each public function's docstring names
the chapter that derives it. See ``book/notation.md`` for the conventions.
"""

from .gaussian import Gaussian, hellinger2, kl_divergence

__version__ = "0.1.0"
__all__ = ["Gaussian", "kl_divergence", "hellinger2"]
