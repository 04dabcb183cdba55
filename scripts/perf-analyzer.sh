#!/usr/bin/env bash
# Makes (once) Triton's load generator perf_analyzer runnable here and prints the path of a
# wrapper that runs it: a real outside client of vf-serve's Open Inference Protocol. Cached in
# .build/perf_analyzer; rebuilt when the pins below change.
#
# perf_analyzer ships as a binary inside the tritonclient wheel; 2.48.0 is the newest whose
# binary runs on Debian 12 (from 2.52 on it needs glibc 2.38), and after 2.60 it is no longer
# in the wheel at all. It links the CUDA runtime (loaded, never used without --shared-memory
# cuda), taken from NVIDIA's wheel, and libb64 (Debian's libb64-0d, see install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
TRITONCLIENT=2.48.0
CUDART=12.9.79
DIR=${VISIONFLEET_PERF_ANALYZER:-.build/perf_analyzer}
want="tritonclient==$TRITONCLIENT nvidia-cuda-runtime-cu12==$CUDART"
if [ ! -x "$DIR/perf_analyzer" ] || [ "$(cat "$DIR/.pins" 2>/dev/null)" != "$want" ]; then
  python=$(scripts/python-venv.sh)
  rm -rf "$DIR"
  mkdir -p "$DIR/wheels" "$DIR/bin" "$DIR/lib"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$DIR/wheels" $want >&2
  "$python" - "$DIR" <<'PY'
import glob, os, sys, zipfile
d = sys.argv[1]
def take(pattern, suffix, dest):
    wheel = zipfile.ZipFile(glob.glob(os.path.join(d, "wheels", pattern))[0])
    name = next(n for n in wheel.namelist() if n.endswith(suffix))
    path = os.path.join(d, dest, os.path.basename(name))
    with open(path, "wb") as out:
        out.write(wheel.read(name))
    os.chmod(path, 0o755)
take("tritonclient-*.whl", "/bin/perf_analyzer", "bin")
take("nvidia_cuda_runtime_cu12-*.whl", "/lib/libcudart.so.12", "lib")
PY
  cat > "$DIR/perf_analyzer" <<'SH'
#!/usr/bin/env bash
here=$(cd "$(dirname "$0")" && pwd)
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/perf_analyzer" "$@"
SH
  chmod +x "$DIR/perf_analyzer"
  echo "$want" > "$DIR/.pins"
fi
echo "$(cd "$DIR" && pwd)/perf_analyzer"
