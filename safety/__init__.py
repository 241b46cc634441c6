"""Safety rules shared by the Rasa NLU component and the action server: is a danger happening now?

``detect(text)`` returns the kinds of emergency a message reports (fire, medical, violence, …) and
``numbers_for(kinds)`` the numbers to call. Pure Python, no project or third-party imports.
"""

from safety.emergency import KIND_NAMES, KINDS, NUMBERS, Detection, detect, is_emergency, numbers_for
from safety.normalise import normalise

__all__ = ["KIND_NAMES", "KINDS", "NUMBERS", "Detection", "detect", "is_emergency", "normalise", "numbers_for"]
