#!/bin/sh
# Installs what the Jython side of the tests needs when it is missing and this machine can
# (as root with apt-get): Jython 2.7 (Debian package jython) for the compile gate and
# `make test-jython`, and pgJDBC (libpostgresql-jdbc-java) for the simulator's system.db.
# Elsewhere it says what is missing and carries on (exit 0): the callers decide.
# The pgJDBC jar is looked for at $PGJDBC_JAR, else /usr/share/java/postgresql.jar.
JAR="${PGJDBC_JAR:-/usr/share/java/postgresql.jar}"
missing=""
command -v jython >/dev/null 2>&1 || missing="$missing jython"
[ -f "$JAR" ] || missing="$missing libpostgresql-jdbc-java"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "jython: installing the Debian package(s)$missing (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/tmp/ensure-jython.log 2>&1 \
    || echo "jython: apt-get install failed (see /tmp/ensure-jython.log)"
fi
command -v jython >/dev/null 2>&1 || echo "jython: not installed (Debian package jython)"
[ -f "$JAR" ] || echo "jython: no pgJDBC jar at $JAR (Debian package libpostgresql-jdbc-java, or set PGJDBC_JAR)"
exit 0
