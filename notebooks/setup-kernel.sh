#!/usr/bin/env bash
# Installs the Jupyter kernelspec "convsim-java": the rapaio JShell kernel (io.github.padreati:rapaio-jupyter-kernel,
# from Maven Central) with convsim's jars on its class path. Writes only into the user's Jupyter data directory
# (JUPYTER_DATA_DIR, default ~/.local/share/jupyter); works offline once Maven has the kernel jar cached.
# Usage: notebooks/setup-kernel.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=3.0.1
m2="${MAVEN_REPO:-$HOME/.m2/repository}"
kernel_jar="$m2/io/github/padreati/rapaio-jupyter-kernel/$version/rapaio-jupyter-kernel-$version.jar"
if [[ ! -f "$kernel_jar" ]]; then
  mvn -q -B dependency:get -Dartifact="io.github.padreati:rapaio-jupyter-kernel:$version" -Dtransitive=false
fi
"$repo/convsim" --version >/dev/null   # builds analysis-cli/target/analysis-cli.jar and lib/ on first use
classpath="$repo/analysis-cli/target/analysis-cli.jar"
for j in "$repo"/analysis-cli/target/lib/*.jar; do
  classpath="$classpath:$j"
done
data="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}"
spec="$data/kernels/convsim-java"
mkdir -p "$spec"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
python3 - "$spec/kernel.json" "$java_bin" "$kernel_jar" "$classpath" "$repo" <<'PY'
import json, sys
path, java, jar, cp, repo = sys.argv[1:]
json.dump({
    # convsim on the kernel JVM's class path (where JShell's snippets run) and on the snippets' compiler's: the
    # notebooks need no %jar cell, and show none of its coloured output
    "argv": [java, "-Xss16m", "-Djava.awt.headless=true", "-Dconvsim.home=" + repo, "-cp", jar + ":" + cp,
             "org.rapaio.jupyter.kernel.MainApp", "{connection_file}"],
    "display_name": "Java (convsim)",
    "language": "java",
    "interrupt_mode": "message",
    "env": {"RJK_CLASSPATH": cp, "RJK_COMPILER_OPTIONS": "--class-path " + jar + ":" + cp, "RJK_INIT_SCRIPT": "",
            "RJK_TIMEOUT_MILLIS": "-1"},
}, open(path, "w"), indent=2)
PY
echo "installed kernel convsim-java in $spec"
