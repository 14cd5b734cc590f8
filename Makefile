# Mapsmith developer commands. Each target sets up what a fresh machine lacks first.
#   make demo   the main job end to end, headless, offline provider -> demo_out/
#   make test   ruff, then every test: bpy-free unit tests, then real Blender 4.2 LTS, 5.0.1 and 5.2
#               (5.2 runs on Python 3.13, where one is installed)
#   make build  validated per-platform extension zips -> dist/
#   make bench  speed and memory figures against the naive way and the floor

OLDEST := .venv-4.2/bin/python
NEWEST := .venv-5.0/bin/python
# Blender 5.2 runs on Python 3.13: its venv exists only where tools/setup.sh found one.
PY313  := .venv-5.2/bin/python
BLENDER_TEST_TIMEOUT := 1500

.PHONY: setup build lint test unit blender-tests demo docs-images bench clean

setup:
	@bash tools/setup.sh

build: setup
	@$(NEWEST) tools/build.py

lint: setup  # pyproject.toml: errors, imports, one typing style
	$(OLDEST) -m ruff check .

unit: setup
	$(OLDEST) -m pytest tests/unit -q

blender-tests: build
	timeout $(BLENDER_TEST_TIMEOUT) $(OLDEST) -m pytest tests/blender -q
	timeout $(BLENDER_TEST_TIMEOUT) $(NEWEST) -m pytest tests/blender -q
	@if [ -x $(PY313) ]; then \
	  echo "timeout $(BLENDER_TEST_TIMEOUT) $(PY313) -m pytest tests/blender -q"; \
	  timeout $(BLENDER_TEST_TIMEOUT) $(PY313) -m pytest tests/blender -q; \
	else echo "make: no .venv-5.2 (no Python 3.13 here): Blender 5.2 not tested"; fi

test: lint unit blender-tests

demo: build
	timeout 1200 $(OLDEST) tools/demo.py --out demo_out

docs-images: build  # refresh the README's pictures from the demo's own renders
	timeout 1200 $(OLDEST) tools/demo.py --out demo_out --docs docs/images

bench: build
	$(OLDEST) tools/bench.py

clean:
	rm -rf dist build wheels demo_out
