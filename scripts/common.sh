# Shell helpers sourced by the demo and figure scripts.
# quiet CMD...: run a Python step without TensorFlow's start-up chatter (absl and C++ lines printed
# before Python logging is set up); everything else on stderr still shows.
quiet() {
    "$@" 2> >(grep --line-buffered -v -E '^(WARNING: All log messages before absl|To enable the following instructions|[IWE]0000 .*(port\.cc|cudart_stub|cuda_platform|cpu_feature_guard))' >&2)
}
# step TEXT: a section heading with the seconds since the script started.
step() { printf '\n== %s (%ds)\n' "$1" "$SECONDS"; }
