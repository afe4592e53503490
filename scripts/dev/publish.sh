#!/bin/bash
# For parallel development in git worktrees (/work/wt-NAME, one branch each):
# merges the current branch into main in /work/main, builds there and runs the
# unit tests; if anything fails, main is put back as it was.
set -u
branch=$(git rev-parse --abbrev-ref HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then echo "publish: commit your changes first"; exit 1; fi
exec 9>/tmp/musrec-publish.lock
flock 9
cd /work/main || exit 1
before=$(git rev-parse HEAD)
if ! git merge --no-edit -q "$branch"; then
  git merge --abort
  echo "publish: merge conflict; run 'git merge main' in your worktree, resolve, commit, publish again"
  exit 1
fi
log=/tmp/publish-$branch.log
if make -j2 build/musrec build/unit_tests >"$log" 2>&1 && ./build/unit_tests >>"$log" 2>&1; then
  grep -E 'warning|passed' "$log" | tail -5
  echo "publish: $branch merged into main at $(git rev-parse --short HEAD)"
else
  git reset -q --hard "$before"
  tail -40 "$log"
  echo "publish: build or unit tests failed on main after the merge; main rolled back to $before"
  exit 1
fi
