# Shared by the across-commit A/B scripts of `bench -- sft` (sft-bundles-ab.sh, sft-lowrank-ab.sh); source it from
# the repository's root. Here: ab_bundle builds one commit's bench bundle in a git worktree. There (the GPU machine,
# carrying .devkit and .tmp): ab_device sets up Dawn and the real-shaped fixtures, then ab_run times one bundle.
AB_B=.tmp/b
AB_Q=qwen2.5-0.5b-shaped
AB_S=smollm2-135m-shaped

# ab_bundle <commit> <name> [patch command run in the worktree] [test names to copy into .tmp/t]
ab_bundle() {
  local c=$1 name=$2 patch=${3:-} w=/tmp/ab-$1; shift $(( $# < 3 ? $# : 3 ))
  mkdir -p $AB_B
  rm -rf $w; git worktree add -q -f $w $c && ln -s "$PWD/node_modules" $w/node_modules
  (cd $w && { [[ -z $patch ]] || eval "$patch"; } && node tools/bundle-cli.mjs > /dev/null) && cp $w/.bundle/bench.mjs $AB_B/$name
  for t in "$@"; do mkdir -p .tmp/t && cp $w/.bundle/tests/$t.test.mjs .tmp/t/; done
  git worktree remove -f $w
}

# ab_device: Dawn, the results file $R (under $OUT), the GPU's name, the fixtures in /tmp/real
ab_device() {
  source .devkit/enter.sh > /dev/null 2>&1
  R=${OUT:-/tmp/out}/results.txt; mkdir -p "$(dirname $R)"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R
  [[ -f /tmp/real/$AB_Q/config.json && -f /tmp/real/$AB_S/config.json ]] || # made by an earlier part of the call
    python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --shapes $AB_Q,$AB_S --out /tmp/real > /dev/null 2>&1
}

# ab_run <label> <fixture> <batch> <bundle> [bench args...]: a 12-step LoRA step timing into $R
ab_run() {
  local l=$1 m=$2 bs=$3 f=$4; shift 4; echo "== $l t=$SECONDS" >> $R
  node $AB_B/$f sft --model /tmp/real/$m --batch $bs --seq 256 --rank 16 --steps 12 --label $l "$@" 2>&1 | grep -E "^sft|Error|error" | head -3 >> $R
}

# ab_tests <until> [name...]: the bundled GPU tests in .tmp/t (all of them, or the names given, e.g. matmul_forward),
# each while SECONDS < until and within AB_TEST_TIMEOUT (40) seconds; its log beside $R, its counts into $R
ab_tests() {
  local until=$1 t f; shift
  local files=("$@"); (( ${#files[@]} )) || files=($(ls .tmp/t/*.test.mjs | xargs -n1 basename | sed 's/\.test\.mjs$//'))
  echo "== GPU tests t=$SECONDS" >> $R
  for t in "${files[@]}"; do
    (( SECONDS < until )) || break
    f=$(dirname $R)/test-$t.log
    timeout ${AB_TEST_TIMEOUT:-40} node --test .tmp/t/$t.test.mjs > $f 2>&1; echo "$t rc=$? $(grep -E '^# (pass|fail|skipped)' $f | tr '\n' ' ')" >> $R
  done
}
