#!/usr/bin/env bash
# One content hash per executed notebook, from everything its output depends on: its text, the
# library and the book's other packages, the pins, the finalising script, and for the chapters that
# read them, the committed results of the long runs. The Pages workflow keeps a cached executed notebook only when its hash is
# unchanged (file times after a checkout say nothing).
#   scripts/notebook_sources.sh NAME   prints the hash of notebooks/NAME.py's inputs
set -euo pipefail
shopt -s nullglob  # a long run not yet committed adds nothing
name=$1
[ -f "notebooks/$name.py" ] || { echo "no notebook notebooks/$name.py" >&2; exit 2; }
inputs=("notebooks/$name.py" nalu/*.py nalu_lab/*.py nalu_book/*.py constraints.txt pyproject.toml
        scripts/finalize_notebook.py results/chapters/"$name"-*.json)  # a chapter's kept runs, if it has any
case $name in
  09_benchmark) inputs+=(results/tables/jobs/nalm/*.json) ;;
  10_paper_scale) inputs+=(results/paper-scale/*.csv results/paper-scale/*.json) ;;
  18_small_tables) inputs+=(results/tables/*.csv results/tables/*.json results/tables/jobs/*/*.json
                           results/tables/jobs/*/running/*.pt  # the step a running job has reached
                           results/paper-scale/*.csv results/paper-scale/*.json) ;;
  99_conclusions) inputs+=(results/paper-scale/*.csv results/paper-scale/*.json results/tables/*.csv results/tables/*.json
                           results/tables/jobs/*/*.json) ;;
esac
cat "${inputs[@]}" | sha256sum | cut -c1-32
