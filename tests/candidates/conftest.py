import sys
from pathlib import Path

# models_for_tests must be importable by name, also in spawned worker processes
sys.path.insert(0, str(Path(__file__).parent))
