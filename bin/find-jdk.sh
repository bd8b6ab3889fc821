# Sourced by ./kvmclock and ./run-tests: sets JAVA_HOME to a JDK 25 or newer, or exits 3 saying what to do.
# Order: $JAVA_HOME if it is 25+, then the newest JDK under /usr/lib/jvm that is 25+.
kvmclock_jdk_major() {
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  case "$v" in ''|*[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}
kvmclock_find_jdk() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(kvmclock_jdk_major "$JAVA_HOME")" -ge 25 ]; then
    return 0
  fi
  local best="" best_major=0 d m
  for d in /usr/lib/jvm/*; do
    [ -x "$d/bin/javac" ] || continue
    m=$(kvmclock_jdk_major "$d")
    if [ "$m" -ge 25 ] && [ "$m" -gt "$best_major" ]; then best="$d"; best_major=$m; fi
  done
  if [ -z "$best" ]; then
    echo "kvmclock: no JDK 25 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, nothing suitable under /usr/lib/jvm); install one (e.g. Temurin 25) and set JAVA_HOME" >&2
    exit 3
  fi
  export JAVA_HOME="$best"
}
kvmclock_find_jdk
export PATH="$JAVA_HOME/bin:$PATH"
