"""Every default value the command line and the library share, in one place.

Plain constants, no imports: the ``steer`` parsers read them while they are built (at start-up,
before any heavy module loads), and the library modules that own each protocol read the same
values (:class:`steering_core.certify.measure.Protocol`, :mod:`steering_core.behaviour.calibrate`,
:mod:`steering_core.report.live`), so a default is changed here once.
"""

from __future__ import annotations

# One steering run: which style, at which decoder layer (0-based), with which alpha.
DEFAULT_STYLE = "terse"
DEFAULT_LAYER = 12
DEFAULT_ALPHA = 0.5

MODEL_HELP = "embedded name ('embedded' = Qwen2.5-Coder-0.5B-Instruct, 'smollm2'), local folder, or HF id"

# steer vector certify: the measurement protocol (steering_core.certify.measure.Protocol).
CERTIFY_CALIBRATION_PROMPTS = 8
CERTIFY_BEHAVIOUR_PROMPTS = 4
CERTIFY_MAX_NEW_TOKENS = 48
CERTIFY_ALPHAS: tuple[float, ...] = (0.05, 0.25, 0.5, 1.0, 2.0, 4.0)
CERTIFY_BATCH_SIZE = 8

# steer behaviour calibrate: the (layer, alpha) grid (steering_core.behaviour.calibrate).
CALIBRATION_LAYERS: tuple[int, ...] = (8, 12, 16)
CALIBRATION_ALPHAS: tuple[float, ...] = (0.5, 1.0, 2.0)

# steer behaviour search: the extraction-recipe search (steering_core.behaviour.recipe).
BEHAVIOUR_SEARCH_RATIOS: tuple[float, ...] = (0.3, 0.6)
BEHAVIOUR_SEARCH_QUESTIONS = 4
BEHAVIOUR_SEARCH_TOKENS = 32

# steer report: the live quick sweep and lens eval (steering_core.report.live).
REPORT_SWEEP_ALPHAS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0)
REPORT_SWEEP_PROMPTS = 4
REPORT_SWEEP_TOKENS = 32
REPORT_LENS_TOKENS = 32
