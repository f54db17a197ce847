# Sourced by ./mvn25 and ./xlstm: prints the home of a JDK whose major version is 25 or newer.
xlstm_jdk_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
xlstm_find_jdk25() {
  local c m
  for c in "${XLSTM_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/*jdk* /opt/java/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    m=$(xlstm_jdk_major "$c")
    if [ -n "$m" ] && [ "$m" -ge 25 ]; then echo "$c"; return 0; fi
  done
  echo "xlstm: no JDK 25 found (looked at XLSTM_JAVA_HOME, JAVA_HOME, /usr/lib/jvm, /opt). Install Temurin 25 or set XLSTM_JAVA_HOME." >&2
  return 1
}
