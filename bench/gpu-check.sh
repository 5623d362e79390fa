#!/usr/bin/env bash
# The prepared GPU check of the CUDA backend, in two stages:
#
#   bench/gpu-check.sh prepare   on a machine with Maven and a JDK 22+ (JAVA_HOME, or Temurin 25 under /usr/lib/jvm):
#                                builds the CUDA backend, a jlink runtime, the jars the CUDA path needs, the demo data
#                                for the check, and the CPU backend's reference results, all under .gpu-check/
#   bench/gpu-check.sh run [OUT] on the GPU host, which needs the CUDA 12 or 13 libraries and Python with PyTorch but
#                                no Java and no network, on the CUDA backend:
#                                - the carried demo and two synthetic checkpoints it writes from the CPU reference's
#                                  seed (LLaMA-2-7B shapes, 8 layers; LLaMA-3-8B, 2 layers, whose k/v W0 are not
#                                  square), each analysed end to end with the default options and with the authors'
#                                  outputs only, compared with the CPU's numbers, timed by operation;
#                                - 64 systems of 4096x4096 with 16 right-hand sides (fp64 and fp32), against the CPU's
#                                  solutions and torch.linalg.solve on the same GPU;
#                                - PyTorch doing the authors' outputs from the same files (bench/gpu_torch_pipeline.py),
#                                  timed and compared with convsim's phi;
#                                - the LinalgBackend contract suite and the batched path's tests (ContractRun), which
#                                  fail the check unless every test runs and passes.
#
# The demo data for the check is the bundled demo's value module, layers 0-5 (exact values), because the files a
# GPU host of this project receives are limited to 64 MiB and the runtime alone takes 38 MiB; CHECK_LAYERS=12 takes
# the whole module where there is room. Results: OUT/cuda.json, OUT/torch.json, OUT/torch-pipeline.json,
# OUT/contract.txt and OUT/gpu-check.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stage="${1:-}"
dir=.gpu-check

if [[ "$stage" == prepare ]]; then
  jdk="${JAVA_HOME:-}"
  if [[ -z "$jdk" || ! -x "$jdk/bin/jlink" ]] || ! "$jdk/bin/java" -version 2>&1 | grep -qE '"(2[2-9]|[3-9][0-9])'; then
    jdk=/usr/lib/jvm/temurin-25-jdk-amd64
  fi
  [[ -x "$jdk/bin/jlink" ]] || { echo "gpu-check: need a JDK 22+ with jlink (set JAVA_HOME)" >&2; exit 1; }
  export JAVA_HOME="$jdk"
  rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/demo"
  mvn -q -B -DskipTests install
  cp analysis-core/target/analysis-core-*.jar analysis-cuda/target/analysis-cuda.jar "$dir/lib/"
  rm -f "$dir"/lib/*-tests.jar
  mvn -q -B dependency:copy-dependencies -pl analysis-core -DincludeScope=runtime \
    -DincludeArtifactIds=jackson-core,jackson-databind,jackson-annotations,commons-math3 -DoutputDirectory="$PWD/$dir/lib"
  # the LinalgBackend contract suite and a launcher for it (ContractRun): the device has Java but no Maven
  mkdir -p "$dir/test-lib"
  mvn -q -B test-compile -pl analysis-cuda
  cp -r analysis-cuda/target/test-classes "$dir/test-classes"
  cp analysis-core/target/analysis-core-*-tests.jar "$dir/test-lib/"
  mvn -q -B dependency:copy-dependencies -pl analysis-cuda -DincludeScope=test \
    -DincludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian,org.ejml \
    -DoutputDirectory="$PWD/$dir/test-lib"
  python3 bench/gpu_check_data.py data "$dir/demo" "${CHECK_LAYERS:-6}"
  "$jdk/bin/jlink" --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.management --strip-debug --no-header-files \
    --no-man-pages --compress=zip-9 --output "$dir/jre"
  strip --strip-unneeded "$dir/jre/lib/server/libjvm.so" 2>/dev/null || true
  rm -f "$dir"/jre/lib/server/classes*.jsa
  mvn -q -B dependency:build-classpath -pl analysis-cuda -Dmdep.outputFile="$PWD/$dir/cpu-classpath.txt" >/dev/null
  echo "gpu-check: computing the CPU reference (OpenBLAS): demo, then ${CHECK_COUNT:-64} systems of ${CHECK_N:-4096}" >&2
  "$jdk/bin/java" -Xss16m -Xmx8g --enable-native-access=ALL-UNNAMED \
    -cp "analysis-cuda/target/analysis-cuda.jar:$(cat "$dir/cpu-classpath.txt")" \
    io.github.convsim.cuda.check.GpuCheck reference "$dir/demo" "${CHECK_COUNT:-64}" "${CHECK_N:-4096}" 16
  rm -f "$dir/cpu-classpath.txt"
  du -sh "$dir"
  exit 0
fi

if [[ "$stage" == run ]]; then
  out="${2:-${OUT:-gpu-check-out}}"
  mkdir -p "$out"
  chmod +x "$dir"/jre/bin/* "$dir"/jre/lib/jspawnhelper 2>/dev/null || true
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt" || true
  # libraries the dynamic loader does not know (a toolkit outside ld.so.conf, pip wheels) are looked up on disk;
  # their directories also go on LD_LIBRARY_PATH so that cuSOLVER finds its own dependencies (cublasLt, nvJitLink...)
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcusolver.so.12 libnvJitLink.so.13 \
             libcusparse.so.12; do
    if ! ldconfig -p 2>/dev/null | grep -q "$lib"; then
      found=$(find /usr/local /opt /usr/lib -name "$lib" 2>/dev/null | head -1 || true)
      if [[ -n "$found" ]]; then
        libdir=$(dirname "$found")
        export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        export CONVSIM_CUDA_LIB="$libdir${CONVSIM_CUDA_LIB:+:$CONVSIM_CUDA_LIB}"
      fi
    fi
  done
  echo "CONVSIM_CUDA_LIB=${CONVSIM_CUDA_LIB:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >> "$out/device.txt"
  # the CUDA backend: demo, batch, and the synthetic checkpoints (written there, kept for PyTorch's pipeline); a
  # failure here is recorded and the remaining stages still run, so that one run of the check says as much as it can
  check=0
  "$dir/jre/bin/java" -Xss16m -Xmx96g --enable-native-access=ALL-UNNAMED -cp "$dir/lib/*" \
    io.github.convsim.cuda.check.GpuCheck run "$dir/demo" "$out" "${CHECK_MODELS_DIR:-/tmp/convsim-gpu-models}" \
    > "$out/cuda-log.txt" 2>&1 || check=1
  tail -5 "$out/cuda-log.txt"
  # the backend contract on the GPU: here a CUDA backend that cannot open fails instead of skipping
  contract=0
  CONVSIM_REQUIRE_GPU=1 "$dir/jre/bin/java" -Xss16m -Xmx8g --enable-native-access=ALL-UNNAMED \
    -cp "$dir/lib/*:$dir/test-lib/*:$dir/test-classes" io.github.convsim.cuda.ContractRun > "$out/contract.txt" 2>&1 \
    || contract=1
  tail -3 "$out/contract.txt"
  py=python3
  if ! "$py" -c 'import torch' 2>/dev/null && [[ -x /opt/torch/.venv/bin/python3 ]]; then py=/opt/torch/.venv/bin/python3; fi
  "$py" bench/gpu_torch_reference.py "$dir/demo/reference.json" "$out/torch.json" || check=1
  [[ -f "$out/cuda.json" ]] && { "$py" bench/gpu_torch_pipeline.py "$out/cuda.json" "$out/torch-pipeline.json" || check=1; }
  "$py" bench/gpu_check_report.py "$out" | tee "$out/gpu-check.md" || check=1
  exit $((contract || check))
fi

echo "usage: bench/gpu-check.sh prepare | run [OUT]" >&2
exit 2
